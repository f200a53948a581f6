/* render-matrix DIR: renders a matrix of cluster shapes (1 and 3 controllers,
 * 1..12 brokers, external none/nodeport/loadbalancer, tiered storage off/on,
 * with and without a data plane's zones) and writes every object as its own
 * JSON file into DIR, for validate-objects.mjs to check against the upstream
 * Kubernetes schemas. File names: <shape>--<render_filename>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "workers/kube/render.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "render-matrix: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    static const char *const avail[] = {"single_zone", "multi_zone"};
    static const char *const ext[] = {"none", "nodeport", "loadbalancer"};
    json_t *plane = json_pack("{s:s, s:[s, s, s]}", "id", "dp-aaaaaaaaaaaaaaaa", "zones",
                              "eu-west-1a", "eu-west-1b", "eu-west-1c");
    long files = 0, shapes = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 1; b <= 12; b++)
            for (int e = 0; e < 3; e++)
                for (int t = 0; t < 2; t++) {
                    json_t *c = json_pack(
                        "{s:s, s:s, s:s, s:s, s:i, s:i, s:{s:s}, s:{s:b}, s:{s:s}, s:{s:s, s:s}}",
                        "id", "kc-matrix0000000000", "tenant_id", "tn-matrix0000000000", "name", "m",
                        "kafka_version", "3.9", "brokers", b, "storage_gib", 10 * b,
                        "external_access", "type", ext[e], "tiered_storage", "enabled", t,
                        "config", "log.retention.hours", "24",
                        "status", "kafka_version", "3.9.1", "availability", avail[a]);
                    render_opts o = {.storage_class = (b % 2) ? "standard" : NULL,
                                     .metrics_namespace = (b % 4 == 0) ? "monitoring" : NULL};
                    char err[256];
                    json_t *objs = render_cluster_json(c, (b % 3) ? plane : NULL, &o, err, sizeof err);
                    if (!objs) {
                        fprintf(stderr, "render-matrix: %s b=%d %s: %s\n", avail[a], b, ext[e], err);
                        return 1;
                    }
                    shapes++;
                    size_t i; json_t *obj;
                    json_array_foreach(objs, i, obj) {
                        char fn[256], path[4096];
                        render_filename(obj, (int)i, fn, sizeof fn);
                        snprintf(path, sizeof path, "%s/c%d-b%02d-%s-%s--%s", dir, a ? 3 : 1, b, ext[e],
                                 t ? "tiered" : "local", fn);
                        if (json_dump_file(obj, path, JSON_SORT_KEYS | JSON_INDENT(2)) != 0) {
                            fprintf(stderr, "render-matrix: cannot write %s\n", path);
                            return 1;
                        }
                        files++;
                    }
                    json_decref(objs);
                    json_decref(c);
                }
    json_decref(plane);
    printf("render-matrix: %ld shapes, %ld objects in %s\n", shapes, files, dir);
    return 0;
}
