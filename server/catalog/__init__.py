"""The menu: categories, products, modifiers and what is sold out."""
