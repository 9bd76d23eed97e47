// placeholder until the relay's first file lands
