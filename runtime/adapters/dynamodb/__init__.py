"""The AWS state backend: the DynamoDB ``StateStore``, its table schema, and the follower registry."""
