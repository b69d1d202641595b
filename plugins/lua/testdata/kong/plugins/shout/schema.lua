return {
  name = "shout",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}
