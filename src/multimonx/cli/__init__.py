"""Composition roots: the only place concrete classes are built and wired together.

``multimonx.cli.main:main`` is the command's entry point.
"""
