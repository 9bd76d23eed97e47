// filled by the HTTP server tests
