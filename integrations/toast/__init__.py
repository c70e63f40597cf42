"""Toast: webhook signatures, order payload parsing and the Orders API client."""
