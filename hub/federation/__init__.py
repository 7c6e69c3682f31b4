"""ActivityPub federation plumbing: instance keys, HTTP Signatures and SSRF-safe outbound HTTP."""
