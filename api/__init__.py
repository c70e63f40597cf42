"""The partner API and the member page: parse, authenticate, call one service, render."""
