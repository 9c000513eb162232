"""SQS FIFO messaging for the AWS host: the two queues' message formats and a batching publisher."""
