return {
  name = "to-https",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}
