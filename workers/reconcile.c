/* reconcile.c — drives a cluster toward its desired state.
 *
 * Level-triggered and idempotent: read the row, do the next step, record
 * the outcome in one transaction. This release has one target, the
 * built-in manifests target used when a cluster is on no data plane: the
 * rendered objects are written as YAML files under
 * DATA_DIR/manifests/<cluster-id>/ (for kubectl apply -f, Argo CD or Flux),
 * and the operations that asked for them succeed. Files are written before
 * the transaction, into a fresh directory swapped in by rename, so a crash
 * at any point leaves either the old set or the new one and the next run
 * writes the same bytes again. Clusters placed on a Kubernetes data plane
 * are left to the Kubernetes workers (the next issue): their operations
 * stay PENDING rather than pretend. */
#define _GNU_SOURCE
#include "reconcile.h"
#include "kube/yamlout.h"
#include "../common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

json_t *reconcile_cluster_view(const store_res *r)
{
    json_t *o = json_deep_copy(r->spec);
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "tenant_id", json_string(r->tenant_id));
    json_t *st = json_deep_copy(r->status);
    json_object_set_new(st, "phase", json_string(r->phase));
    json_object_set_new(o, "status", st);
    json_object_set_new(o, "generation", json_integer(r->generation));
    return o;
}

static int rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char p[2048];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

/* Writes objects as one YAML file each into dir, replacing what was there. */
static int write_manifests(const char *root, const char *id, const json_t *objs, char *err, size_t errlen)
{
    char dir[1400], tmp[1500], old[1500];
    snprintf(dir, sizeof dir, "%s/%s", root, id);
    snprintf(tmp, sizeof tmp, "%s/.%s.new", root, id);
    snprintf(old, sizeof old, "%s/.%s.old", root, id);
    mkdir(root, 0755);
    rm_tree(tmp);
    rm_tree(old);
    if (mkdir(tmp, 0755) != 0) { snprintf(err, errlen, "cannot create %.400s: %s", tmp, strerror(errno)); return -1; }
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        char name[256], path[1800];
        render_filename(o, (int)i, name, sizeof name);
        char *dot = strrchr(name, '.');
        if (dot && strcmp(dot, ".json") == 0) strcpy(dot, ".yaml");
        snprintf(path, sizeof path, "%s/%s", tmp, name);
        char *y = yaml_dump(o);
        int rc = y ? sp_write_file_atomic(path, y, strlen(y), 0644) : -1;
        free(y);
        if (rc != 0) { snprintf(err, errlen, "cannot write %.400s", path); return -1; }
    }
    /* swap: dir -> old, tmp -> dir, drop old */
    if (rename(dir, old) != 0 && errno != ENOENT) { snprintf(err, errlen, "cannot move %.400s aside", dir); return -1; }
    if (rename(tmp, dir) != 0) { snprintf(err, errlen, "cannot move %.400s into place", tmp); return -1; }
    rm_tree(old);
    int fd = open(root, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
    return 0;
}

static void set_ready(json_t *status, const char *st, const char *reason, const char *msg)
{
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) { conds = json_array(); json_object_set_new(status, "conditions", conds); }
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
        if (strcmp(json_string_value(json_object_get(c, "type")), "Ready") == 0) {
            const char *old = json_string_value(json_object_get(c, "status"));
            if (!old || strcmp(old, st) != 0) json_object_set_new(c, "last_transition_time", json_string(now));
            json_object_set_new(c, "status", json_string(st));
            json_object_set_new(c, "reason", json_string(reason));
            json_object_set_new(c, "message", json_string(msg));
            return;
        }
    json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "Ready", "status", st, "reason",
                                           reason, "message", msg, "last_transition_time", now));
}

/* Marks the cluster's active operations up to generation gen as succeeded
 * with one step. */
static int finish_ops(store_t *st, const char *cluster_id, int64_t gen, const char *step, const char *msg,
                      const char *started)
{
    store_op *ops;
    int n, rc = store_op_list(st, NULL, cluster_id, 0, 10000, &ops, &n);
    if (rc != ST_OK) return rc;
    char now[SP_TS_MAX];
    sp_now_rfc3339(now);
    for (int i = 0; i < n && rc == ST_OK; i++) {
        store_op *o = &ops[i];
        if (strcmp(o->state, "PENDING") && strcmp(o->state, "RUNNING")) continue;
        if (gen && o->target_generation > gen) continue;
        snprintf(o->state, sizeof o->state, "SUCCEEDED");
        o->progress_percent = 100;
        json_array_append_new(o->steps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", step, "state", "SUCCEEDED",
                                                  "started_at", started, "finished_at", now, "message", msg));
        rc = store_op_update(st, o);
    }
    store_op_free_list(ops, n);
    return rc;
}

static int reconcile_manifests(reconciler *rc_, store_res *r)
{
    char started[SP_TS_MAX], err[512], dir[1400];
    sp_now_rfc3339(started);
    snprintf(dir, sizeof dir, "%s/%s", rc_->manifests_dir, r->id);
    store_t *st = rc_->store;

    if (strcmp(r->phase, "DELETING") == 0) {
        if (rm_tree(dir) != 0) return -1;
        if (store_begin(st) != ST_OK) return -1;
        int rc = finish_ops(st, r->id, 0, "remove manifests", "the cluster's manifest files were removed", started);
        if (rc == ST_OK) rc = store_res_delete(st, K_CLUSTER, r->id);
        if (rc == ST_OK || rc == ST_NOTFOUND) return store_commit(st) == ST_OK ? 0 : -1;
        store_rollback(st);
        return -1;
    }
    int64_t observed = json_integer_value(json_object_get(r->status, "observed_generation"));
    char cur[SP_ID_MAX];
    if (store_op_current(st, r->id, cur) != ST_OK) return -1;
    if (observed == r->generation && !cur[0]) return 0;        /* nothing to do */

    json_t *view = reconcile_cluster_view(r);
    json_t *objs = render_cluster(view, NULL, &rc_->render, err, sizeof err);
    json_decref(view);
    if (!objs) return -1;
    int w = write_manifests(rc_->manifests_dir, r->id, objs, err, sizeof err);
    size_t nobj = json_array_size(objs);
    json_decref(objs);
    if (w != 0) return -1;

    if (store_begin(st) != ST_OK) return -1;
    store_res now;
    int rc = store_res_get(st, K_CLUSTER, r->id, NULL, &now);
    if (rc != ST_OK) { store_rollback(st); return rc == ST_NOTFOUND ? 0 : -1; }
    if (now.generation != r->generation || strcmp(now.phase, r->phase) != 0) {
        /* changed while we wrote: the next run writes the newer spec */
        store_rollback(st);
        store_res_clear(&now);
        return 1;
    }
    char msg[1600];
    snprintf(msg, sizeof msg, "%zu objects written to %s; apply them with kubectl apply -f", nobj, dir);
    rc = finish_ops(st, r->id, now.generation, "write manifests", msg, started);
    if (rc == ST_OK) {
        snprintf(now.phase, sizeof now.phase, "RUNNING");
        json_object_set_new(now.status, "observed_generation", json_integer(now.generation));
        json_object_set_new(now.status, "current_operation_id", json_null());
        json_object_set_new(now.status, "target", json_string("manifests"));
        json_object_set_new(now.status, "manifests_path", json_string(dir));
        set_ready(now.status, "True", "ManifestsWritten", msg);
        rc = store_res_update(st, K_CLUSTER, &now, 0);
    }
    store_res_clear(&now);
    if (rc != ST_OK) { store_rollback(st); return -1; }
    return store_commit(st) == ST_OK ? 0 : -1;
}

int cluster_reconcile(void *ctx, const char *key)
{
    reconciler *rc_ = ctx;
    if (strncmp(key, "cluster/", 8) != 0) return 0;
    store_res r;
    int rc = store_res_get(rc_->store, K_CLUSTER, key + 8, NULL, &r);
    if (rc == ST_NOTFOUND) return 0;
    if (rc != ST_OK) return -1;
    int out = 0;
    if (!r.data_plane_id[0]) out = reconcile_manifests(rc_, &r);
    store_res_clear(&r);
    return out;
}
