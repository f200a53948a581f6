/* main.c — the standalone kafka-sim binary (placeholder, filled in stage 3). */
#define _GNU_SOURCE
#include "kafka_sim.h"

int main(void)
{
    return 0;
}
