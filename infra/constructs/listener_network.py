"""Where the listeners run: a small VPC with public subnets only (no NAT gateway), an ECS cluster with Container
Insights, and a security group without any inbound rule.

Public subnets + a public IP per task instead of private subnets + NAT: the listener only dials out, nothing can
dial in (no inbound rule, no load balancer), and a NAT gateway (about 33 USD a month each, plus data) would cost
more than everything else in the stack. VPC flow logs record rejected traffic for forensics.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.log_retention import log_retention


class ListenerNetwork(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"{config.prefix}-listeners",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
            ],
            # Nothing uses the default security group; restricting it would deploy a custom-resource Lambda.
            restrict_default_security_group=False,
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "RejectedTraffic",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=f"{config.prefix}-listeners",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.listener_security_group = ec2.SecurityGroup(
            self,
            "ListenerSecurityGroup",
            vpc=self.vpc,
            description="copytrader listener: outbound HTTPS only (Bybit, SQS, DynamoDB, SNS); no inbound rule",
            allow_all_outbound=False,
        )
        # Every peer (Bybit REST and WebSocket, the AWS APIs) is HTTPS on 443; DNS goes to the VPC resolver,
        # which security groups do not filter.
        self.listener_security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS out")
