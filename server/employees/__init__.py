"""Staff who sign in on an iPad with a PIN."""
