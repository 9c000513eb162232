"""The local AWS host: the AWS wiring (SQS FIFO, DynamoDB, SNS, Secrets Manager on a moto server; the Lambda
handlers invoked the way the SQS event source mapping invokes them) on one machine. See docs/aws-local.md."""
