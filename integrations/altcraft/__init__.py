"""Altcraft's loyalty API v1.1 (seed 002, reference notes §3)."""
