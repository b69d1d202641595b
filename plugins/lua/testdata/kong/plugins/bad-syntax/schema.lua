return { name = "bad-syntax", fields = { { config = { type = "record", fields = {} } } } }
