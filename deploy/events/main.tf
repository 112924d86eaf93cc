# fargate-operator event-driven status: an EventBridge rule on the default bus that sends ECS's
# events (and, where a trail records management events, the ECS API calls that change what the
# operator manages) to an SQS queue the operator reads. Apply once per account and region (the
# provider's). deploy/events/cloudformation.yaml is the same in CloudFormation;
# docs/event-driven-status.md explains every choice.

terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "queue_name" {
  description = "The queue's name (the dead-letter queue is this name with -dlq)."
  type        = string
  default     = "fargate-operator-ecs-events"
}

variable "cluster_name_prefix" {
  description = "Only ECS events of clusters whose name starts with this (empty: every cluster of the account and region)."
  type        = string
  default     = ""
}

variable "message_retention_seconds" {
  description = "How long an unread event is kept; an event older than the operator's resync is superseded by it."
  type        = number
  default     = 3600
}

variable "visibility_timeout_seconds" {
  description = "How long a received batch stays hidden before SQS hands it out again."
  type        = number
  default     = 120
}

variable "max_receive_count" {
  description = "Receives before an event the operator cannot handle moves to the dead-letter queue."
  type        = number
  default     = 5
}

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # The region's `name` (provider < 6) is `region` from provider 6 on; `id` is both.
  cluster_arn_prefix = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:cluster/${var.cluster_name_prefix}"
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.queue_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, to look at what failed
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "events" {
  name                       = var.queue_name
  message_retention_seconds  = var.message_retention_seconds
  visibility_timeout_seconds = var.visibility_timeout_seconds
  receive_wait_time_seconds  = 20 # long polling: an idle queue costs 3 receives a minute
  # SSE-SQS: EventBridge can send to it with no key policy (an AWS-managed KMS key would refuse it).
  sqs_managed_sse_enabled = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_cloudwatch_event_rule" "ecs_events" {
  name           = "${var.queue_name}-rule"
  description    = "ECS events and ECS write calls (via CloudTrail) for fargate-operator"
  event_bus_name = "default"
  state          = "ENABLED"
  # The same pattern as deploy/events/cloudformation.yaml (tests/unit/test_event_setup.py compares them).
  event_pattern = <<-EOT
    {
      "source": ["aws.ecs"],
      "$or": [
        {
          "detail-type": ["ECS Task State Change", "ECS Service Action", "ECS Deployment State Change"],
          "detail": {"clusterArn": [{"prefix": "${local.cluster_arn_prefix}"}]}
        },
        {
          "detail-type": ["AWS API Call via CloudTrail"],
          "detail": {
            "eventSource": ["ecs.amazonaws.com"],
            "eventName": [
              "CreateService",
              "UpdateService",
              "DeleteService",
              "RegisterTaskDefinition",
              "DeregisterTaskDefinition",
              "DeleteTaskDefinitions",
              "TagResource",
              "UntagResource",
              "DeleteCluster",
              "UpdateCluster",
              "UpdateClusterSettings",
              "PutClusterCapacityProviders"
            ]
          }
        }
      ]
    }
  EOT
}

resource "aws_cloudwatch_event_target" "queue" {
  rule           = aws_cloudwatch_event_rule.ecs_events.name
  event_bus_name = "default"
  target_id      = "fargate-operator-queue"
  arn            = aws_sqs_queue.events.arn
  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 185
  }
  dead_letter_config { # events EventBridge could not deliver (a broken queue policy, say)
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeSendsTheRulesEvents"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.events.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.ecs_events.arn } }
    }]
  })
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeSendsUndeliveredEvents"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dead_letter.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.ecs_events.arn } }
    }]
  })
}

output "queue_url" {
  description = "FARGATE_OPERATOR_EVENTS_QUEUE_URL (chart events.queueUrl), or a FargateAccount's spec.eventQueues[].queueUrl"
  value       = aws_sqs_queue.events.url
}

output "queue_arn" {
  description = "The Resource of the operator's sqs:ReceiveMessage / DeleteMessage / GetQueueAttributes statement"
  value       = aws_sqs_queue.events.arn
}

output "dead_letter_queue_url" {
  description = "Events the operator could not handle, and events EventBridge could not deliver"
  value       = aws_sqs_queue.dead_letter.url
}

output "operator_policy_statement" {
  description = "The statement the identity that reads the queue needs (deploy/events/iam-policy-events.json)"
  value = jsonencode({
    Sid      = "ReadEcsEvents"
    Effect   = "Allow"
    Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    Resource = aws_sqs_queue.events.arn
  })
}
