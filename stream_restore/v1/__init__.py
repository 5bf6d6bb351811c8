"""Generated gRPC code for the stream_restore.v1 API (see protos/)."""
