#!/bin/bash
# kafka-server-start.sh — streamplane's own, doing what the distribution's
# does: the server's log config and a 1 GiB heap unless told otherwise.
#   usage: kafka-server-start.sh server.properties [--override property=value]*
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
  exit 1
fi
base_dir=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KAFKA_LOG4J_OPTS:-}" ]; then
  if ls "$base_dir"/libs/log4j-core-2*.jar >/dev/null 2>&1; then
    export KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=$base_dir/config/log4j2.properties"
  else
    export KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$base_dir/config/log4j.properties"
  fi
fi
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
exec "$(dirname "$0")/kafka-run-class.sh" -name kafkaServer -loggc kafka.Kafka "$@"
