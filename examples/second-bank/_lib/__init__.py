"""Northfield's shared generator code: `from _lib.conv import out_size` in a generator."""
