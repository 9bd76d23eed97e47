// placeholder until the connect flow lands
