variable "api_url" {
  description = "streamplane's address, e.g. https://streamplane.example.com"
  type        = string
}

variable "api_token" {
  description = "A tenant API key (key-….secret), or the operator token together with tenant_id."
  type        = string
  sensitive   = true
}

variable "tenant_id" {
  description = "Only with the operator token: the tenant the cluster belongs to."
  type        = string
  default     = null
}

variable "name" {
  description = "Cluster name (DNS label, unique in the tenant; cannot change)."
  type        = string
  default     = "orders"
}

variable "kafka_version" {
  type    = string
  default = "3.9"
}

variable "brokers" {
  type    = number
  default = 3
}

variable "storage_gib" {
  description = "Storage per broker; it can only grow."
  type        = number
  default     = 100
}

variable "config" {
  description = "Kafka broker config, every value a string."
  type        = map(string)
  default = {
    "log.retention.hours" = "168"
    "min.insync.replicas" = "2"
  }
}

variable "topics" {
  description = "Topics to declare on the cluster, by name: partitions (only grow), replication_factor (default min(3, brokers); cannot change), config (topic settings, every value a string)."
  type = map(object({
    partitions         = number
    replication_factor = optional(number)
    config             = optional(map(string), {})
  }))
  default = {}
}
