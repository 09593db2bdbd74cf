"""Tests of the discord layer."""
