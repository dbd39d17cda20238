"""Step 2, Schema: the request/response contract (JSON Schema kept as YAML), its checks."""
