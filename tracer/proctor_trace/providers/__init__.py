"""One module per SDK: how to read its requests, responses and stream items."""
