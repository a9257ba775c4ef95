"""Ids as clients send them."""


def is_id(value) -> bool:
    """A primary key as given by a client: ASCII digits only ("²" and "١" pass str.isdigit)."""
    text = str(value)
    return text.isascii() and text.isdigit()
