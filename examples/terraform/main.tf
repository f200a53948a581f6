# A Kafka cluster for a tenant, through streamplane's REST API, with the
# generic REST provider (Mastercard/restapi). See "Terraform" in the README.

terraform {
  required_providers {
    restapi = {
      source  = "Mastercard/restapi"
      version = "1.20.0"
    }
  }
}

provider "restapi" {
  uri                  = var.api_url
  write_returns_object = true # POST, PUT answer the cluster: its id comes from there
  id_attribute         = "id"
  headers = {
    Authorization = "Bearer ${var.api_token}"
  }
}

resource "restapi_object" "cluster" {
  path = "/v1/clusters"
  # What you send comes back as sent, so the plan shows no drift; what the
  # server decides (the release "3.9" resolves to, placement, phase) is in
  # status, read through api_response below.
  data = jsonencode(merge(
    {
      name          = var.name
      kafka_version = var.kafka_version
      brokers       = var.brokers
      storage_gib   = var.storage_gib
      config        = var.config
    },
    var.tenant_id == null ? {} : { tenant_id = var.tenant_id },
  ))
}

# Topics on the cluster, declared with it: accepted while the cluster is
# still provisioning and created in Kafka once it is ready, so one apply
# makes both. A topic is named by its name (id_attribute) and changed with
# a merge patch (PATCH: partitions only grow; replication_factor cannot
# change). Removing a config key here does not remove it from the topic
# (the provider PATCHes what is declared; send "key": null to remove one).
resource "restapi_object" "topic" {
  for_each      = var.topics
  path          = "/v1/clusters/${restapi_object.cluster.id}/topics"
  id_attribute  = "name"
  update_method = "PATCH"
  data = jsonencode(merge(
    { name = each.key, partitions = each.value.partitions, config = each.value.config },
    each.value.replication_factor == null ? {} : { replication_factor = each.value.replication_factor },
  ))
  # a new cluster (replaced, or recreated after someone deleted it) needs its
  # topics created anew: the provider would otherwise PATCH them at the new path
  lifecycle {
    replace_triggered_by = [restapi_object.cluster.id]
  }
}

output "cluster_id" {
  value = restapi_object.cluster.id
}

# What the server decided, read from the answer. Only fields that stay put:
# an output that changed on every read (status.phase moves from PROVISIONING
# to RUNNING on its own) would make every plan show a change.
output "kafka_release" {
  description = "The Kafka release kafka_version resolved to."
  value       = jsondecode(restapi_object.cluster.api_response).status.kafka_version
}
