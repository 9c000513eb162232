"""The AWS host as code: CDK constructs and stacks for the copy engine (see docs/deploy.md)."""
