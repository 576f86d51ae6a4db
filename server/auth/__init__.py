"""Who is asking: back-office logins and the tokens that prove them."""
