"""Restaurants (the tenant) and their locations."""
