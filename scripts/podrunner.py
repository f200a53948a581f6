#!/usr/bin/python3
"""podrunner — runs Kubernetes pods for real, as local processes in Linux
namespaces, the way a kubelet would run them in containers.

Each pod gets a network namespace of its own on the runner's pod network (a
bridge inside a network namespace the runner makes; nothing touches the
host's interfaces), a mount and UTS namespace held by a pause process (its
hostname, its volumes where the spec mounts them, an /etc/hosts that the
runner keeps current for *.svc.cluster.local names), then its init
containers one after the other and its containers, each as the user the
pod's securityContext names, with the spec's environment (downward API
fields included). Readiness probes run for real against the pod's address.
A persistent volume claim is a folder that outlives the pod.

What a container image would hold comes from the image table below
(IMAGES): apache/kafka:<v> is /opt/kafka laid out by scripts/kafka, and so on.
Every place where the runner must differ from a real kubelet is here, never
in what streamplane renders; each one is marked BED DIFFERENCE.

  podrunner.py local --manifests DIR --state DIR [options]
      Step-1 mode without an API server: reads the rendered objects (YAML or
      JSON files, as the manifests target writes them), makes each
      StatefulSet's pods as the StatefulSet controller would, runs them and
      writes DIR/status.json (pods in the API's shape) until SIGTERM.

  podrunner.py bed --bed DIR --nodes N1,N2,... --state DIR [options]
      The kubelet of some nodes of a bed (scripts/bed up DIR): runs the pods
      the scheduler binds to them, reports their status to the API server,
      heartbeats the nodes, stops a deleted pod's processes, and forwards each
      LoadBalancer Service's loopback ingress address to its ready pods.
      scripts/bed starts it for the BED_NODES lines whose manager is runner;
      tests/kafka-bed drives real Kafka on it through streamplane's API.

Costs: one thread per pod plus a few for probes; a status write per change;
in bed mode one thread per forwarded connection direction.
"""
import argparse
import base64
import ctypes
import json
import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get('STREAMPLANE_CACHE') or os.path.expanduser('~/.cache/streamplane')
SUBNET = '198.18'              # RFC 2544's benchmarking range, only ever inside our own namespaces
GATEWAY = SUBNET + '.0.1'
DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def log(*a):
    print('podrunner:', *a, file=sys.stderr, flush=True)


def now_rfc3339():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def run(*argv, check=True, quiet=False):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError('%s: %s' % (' '.join(argv), r.stderr.strip()))
    return r


def parse_quantity(q):
    """Kubernetes quantity -> bytes (memory) or millicores*1000 for cpu callers."""
    m = re.fullmatch(r'([0-9.]+)([a-zA-Z]*)', str(q))
    if not m:
        return None
    n, suf = float(m.group(1)), m.group(2)
    mult = {'': 1, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'Ki': 1024, 'Mi': 1024 ** 2,
            'Gi': 1024 ** 3, 'Ti': 1024 ** 4, 'm': 1e-3}.get(suf)
    return None if mult is None else n * mult


# ---- images ---------------------------------------------------------------
# BED DIFFERENCE: no image is pulled. An image is the host's root file system
# plus the few paths it adds, taken from the cache. (host path, path in the
# container, owner uid or None, writable copy?)

def image_name(image):
    """registry/owner/name:tag -> owner/name (or name)"""
    return '/'.join(image.rpartition(':')[0].rsplit('/', 2)[-2:])


def image_layers(image, mode):
    tag = image.rpartition(':')[2]
    name = image_name(image)
    if name == 'apache/kafka':
        d = os.path.join(CACHE, 'kafka-' + tag)
        if not os.path.isfile(os.path.join(d, '.complete')):
            subprocess.run([os.path.join(ROOT, 'scripts', 'kafka'), 'build', tag], check=True,
                           stdout=subprocess.DEVNULL)
        # the image's /opt/kafka belongs to appuser and is writable (a container layer)
        return [(d, '/opt/kafka', 1000, True)]
    if name == 'bitnami/jmx-exporter':
        d = subprocess.run([os.path.join(ROOT, 'scripts', 'kafka'), 'jmx', tag], check=True,
                           stdout=subprocess.PIPE, text=True).stdout.strip()
        return [(d, '/opt/bitnami/jmx-exporter', None, False)]
    if name == 'bitnami/kubectl':
        return [(mode.kubectl_dir, '/opt/bitnami/kubectl/bin', None, False)]
    if name in ('library/debian', 'debian'):
        return []       # the host's root file system is Debian already
    raise RuntimeError('image %s is not in the runner\'s image table' % image)


IMAGE_PATH = {'bitnami/kubectl': '/opt/bitnami/kubectl/bin:' + DEFAULT_PATH}


def image_env_path(image):
    return IMAGE_PATH.get(image_name(image), DEFAULT_PATH)


# ---- the pod network ------------------------------------------------------

class NetThreads:
    """Threads that live in the pod network's namespace (setns is per thread):
    probes and forwarded connections are made from there, as a kubelet
    connects from the node to the pod's address."""

    def __init__(self, nspath, n=4):
        self.q = queue.Queue()
        for _ in range(n):
            threading.Thread(target=self._loop, args=(nspath,), daemon=True).start()

    def _loop(self, nspath):
        fd = os.open(nspath, os.O_RDONLY)
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            log('setns into the pod network failed:', os.strerror(ctypes.get_errno()))
            os._exit(3)
        os.close(fd)
        while True:
            fn, box, ev = self.q.get()
            try:
                box.append((True, fn()))
            except Exception as e:  # handed back to the caller
                box.append((False, e))
            ev.set()

    def call(self, fn):
        box, ev = [], threading.Event()
        self.q.put((fn, box, ev))
        ev.wait()
        ok, v = box[0]
        if not ok:
            raise v
        return v


class Network:
    """A bridge in a namespace of our own; each pod a veth pair on it."""

    def __init__(self, tag):
        self.tag = tag
        self.ns = 'spbed-' + tag
        self.lock = threading.Lock()
        self.next = 2
        self.free = []
        run('ip', 'netns', 'add', self.ns)
        run('ip', '-n', self.ns, 'link', 'set', 'lo', 'up')
        run('ip', '-n', self.ns, 'link', 'add', 'br0', 'type', 'bridge')
        run('ip', '-n', self.ns, 'addr', 'add', GATEWAY + '/16', 'dev', 'br0')
        run('ip', '-n', self.ns, 'link', 'set', 'br0', 'up')
        self.threads = NetThreads('/run/netns/' + self.ns)

    def attach(self):
        with self.lock:
            n = self.free.pop() if self.free else self.next
            if n == self.next:
                self.next += 1
        if n > 65000:
            raise RuntimeError('pod network is full')
        ip = '%s.%d.%d' % (SUBNET, n // 256, n % 256)
        podns = 'sp%s-%d' % (self.tag, n)
        veth = 'v%d' % n
        run('ip', 'netns', 'add', podns)
        run('ip', '-n', podns, 'link', 'set', 'lo', 'up')
        run('ip', '-n', self.ns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podns)
        run('ip', '-n', self.ns, 'link', 'set', veth, 'master', 'br0', 'up')
        run('ip', '-n', podns, 'addr', 'add', ip + '/16', 'dev', 'eth0')
        run('ip', '-n', podns, 'link', 'set', 'eth0', 'up')
        run('ip', '-n', podns, 'route', 'add', 'default', 'via', GATEWAY)
        return n, ip, podns

    def detach(self, n, podns):
        run('ip', '-n', self.ns, 'link', 'del', 'v%d' % n, check=False)
        run('ip', 'netns', 'del', podns, check=False)
        with self.lock:
            self.free.append(n)

    def tcp_check(self, ip, port, timeout):
        def probe():
            with socket.create_connection((ip, port), timeout=timeout):
                return True
        try:
            return self.threads.call(probe)
        except OSError:
            return False

    def destroy(self):
        run('ip', 'netns', 'del', self.ns, check=False)


# ---- one pod --------------------------------------------------------------

def field_ref(pod, path, ip, node_ip):
    md = pod['metadata']
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if m:
        return (md.get(m.group(1)) or {}).get(m.group(2), '')
    return {
        'metadata.name': md.get('name', ''), 'metadata.namespace': md.get('namespace', ''),
        'metadata.uid': md.get('uid', ''), 'spec.nodeName': pod['spec'].get('nodeName', ''),
        'spec.serviceAccountName': pod['spec'].get('serviceAccountName', 'default'),
        'status.podIP': ip, 'status.podIPs': ip, 'status.hostIP': node_ip, 'status.hostIPs': node_ip,
    }.get(path, '')


def expand_refs(s, env):
    """$(VAR) as Kubernetes expands it in env values, command and args."""
    return re.sub(r'\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)',
                  lambda m: '$' if m.group(0) == '$$' else env.get(m.group(1), m.group(0)), s)


class Container:
    def __init__(self, spec, init):
        self.spec, self.init = spec, init
        self.name = spec['name']
        self.proc = None
        self.restarts = 0
        self.state = {'waiting': {'reason': 'PodInitializing' if not init else 'Waiting'}}
        self.last_state = {}
        self.ready = False
        self.started_at = None
        self.backoff_until = 0
        self.probe_ok = 0
        self.probe_fail = 0
        self.next_probe = 0

    def status(self, image):
        s = {'name': self.name, 'image': image, 'imageID': '', 'ready': self.ready,
             'restartCount': self.restarts, 'state': self.state, 'lastState': self.last_state,
             'started': 'running' in self.state}
        return s


class Pod:
    """A pod's sandbox (network, mounts, hostname), its containers and probes."""

    def __init__(self, runner, pod):
        self.r = runner
        self.pod = pod
        md, spec = pod['metadata'], pod['spec']
        self.ns, self.name = md['namespace'], md['name']
        self.key = '%s/%s' % (self.ns, self.name)
        self.dir = os.path.join(runner.state, 'pods', '%s_%s' % (self.ns, self.name))
        self.hostname = spec.get('hostname') or self.name
        self.subdomain = spec.get('subdomain')
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.inits = [Container(c, True) for c in spec.get('initContainers') or []]
        self.mains = [Container(c, False) for c in spec.get('containers') or []]
        self.phase = 'Pending'
        self.ip = None
        self.netn = None
        self.podns = None
        self.pause = None
        self.initialized = False
        self.started_at = None
        self.conds = {}          # condition type -> (status, last transition time)
        sc = spec.get('securityContext') or {}
        self.uid = sc.get('runAsUser', 0)
        self.gid = sc.get('runAsGroup', self.uid)
        self.fsgroup = sc.get('fsGroup')
        self.groups = [g for g in [self.gid, self.fsgroup] + (sc.get('supplementalGroups') or []) if g is not None]
        self.thread = threading.Thread(target=self._main, daemon=True, name=self.key)

    # -- names this pod answers to
    def fqdn(self):
        if self.subdomain:
            return '%s.%s.%s.svc.cluster.local' % (self.hostname, self.subdomain, self.ns)
        return None

    # -- volumes
    def _volume_dir(self, vol):
        name = vol['name']
        d = os.path.join(self.dir, 'volumes', name)
        if 'persistentVolumeClaim' in vol:
            # BED DIFFERENCE: a claim is a folder under the runner's state that
            # outlives the pod (the PersistentVolume); its size is not enforced.
            claim = vol['persistentVolumeClaim']['claimName']
            d = os.path.join(self.r.state, 'volumes', self.ns, claim)
            os.makedirs(d, exist_ok=True)
            self._fsgroup(d)
            return d, False
        if 'hostPath' in vol:
            return vol['hostPath']['path'], False
        os.makedirs(d, exist_ok=True)
        if 'emptyDir' in vol:
            os.chmod(d, 0o777)
            return d, False
        if 'configMap' in vol or 'secret' in vol:
            src = vol.get('configMap') or vol.get('secret')
            kind = 'configMap' if 'configMap' in vol else 'secret'
            obj = self.r.get_object(kind, self.ns, src.get('name') or src.get('secretName'))
            if obj is None and not src.get('optional'):
                raise RuntimeError('%s %s not found' % (kind, src.get('name') or src.get('secretName')))
            files = self._object_files(obj or {}, kind)
            mode = src.get('defaultMode', 0o644)
            self._write_files(d, files, src.get('items'), mode)
            return d, True
        if 'projected' in vol:
            for s in vol['projected'].get('sources') or []:
                if 'serviceAccountToken' in s:
                    tok = self.r.service_account_token(self, s['serviceAccountToken'])
                    self._write_files(d, {s['serviceAccountToken']['path']: tok}, None, 0o644)
                elif 'configMap' in s or 'secret' in s:
                    kind = 'configMap' if 'configMap' in s else 'secret'
                    obj = self.r.get_object(kind, self.ns, s[kind]['name']) or {}
                    self._write_files(d, self._object_files(obj, kind), s[kind].get('items'), 0o644)
                elif 'downwardAPI' in s:
                    self._write_downward(d, s['downwardAPI'].get('items') or [])
            return d, True
        if 'downwardAPI' in vol:
            self._write_downward(d, vol['downwardAPI'].get('items') or [])
            return d, True
        raise RuntimeError('volume %s: kind not supported by the runner' % name)

    def _fsgroup(self, d):
        if self.fsgroup is not None:
            os.chown(d, -1, self.fsgroup)
            os.chmod(d, 0o2775)

    @staticmethod
    def _object_files(obj, kind):
        files = dict(obj.get('data') or {})
        if kind == 'secret':
            files = {k: base64.b64decode(v) for k, v in files.items()}
            files.update({k: v.encode() for k, v in (obj.get('stringData') or {}).items()})
        else:
            files.update({k: base64.b64decode(v) for k, v in (obj.get('binaryData') or {}).items()})
        return files

    @staticmethod
    def _write_files(d, files, items, mode):
        pick = [(i['key'], i['path'], i.get('mode', mode)) for i in items] if items else \
               [(k, k, mode) for k in files]
        for key, path, m in pick:
            if key not in files:
                continue
            p = os.path.join(d, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            v = files[key]
            with open(p, 'wb') as f:
                f.write(v.encode() if isinstance(v, str) else v)
            os.chmod(p, m)

    def _write_downward(self, d, items):
        files = {}
        for it in items:
            if 'fieldRef' in it:
                files[it['path']] = field_ref(self.pod, it['fieldRef']['fieldPath'], self.ip or '', '')
        self._write_files(d, files, None, 0o644)

    # -- the sandbox: namespaces held by a pause process
    def _sandbox_script(self, mounts):
        """mounts: [(host path, container path, ro, owner uid or None, writable copy)]"""
        scratch = os.path.join(self.dir, 'scratch')
        os.makedirs(scratch, exist_ok=True)
        lines = ['set -eu', 'S=%s' % q(scratch), 'mount -t tmpfs -o mode=755 tmpfs "$S"', 'n=0',
                 # a fresh, writable copy of an existing folder, for this pod only
                 # (exit on failure: `set -e` does not reach into `under || ovl`, and a
                 # mount point made without its copy would be made on the host)
                 'ovl() { n=$((n+1)); mkdir -p "$S/o$n/u" "$S/o$n/w";'
                 ' mount -t overlay overlay -o "lowerdir=$1,upperdir=$S/o$n/u,workdir=$S/o$n/w" "$2" || exit 1; }',
                 # is $1 inside a folder this pod already has its own copy of?
                 'under() { local o; for o in $OVL; do case "$1/" in "$o"/*) return 0;; esac; done; return 1; }',
                 # a mount point that the host lacks: made in a copy, never on the host
                 # (BED DIFFERENCE: not at the top, /NEW: a copy of / would hide /proc,
                 # /dev and every mount made before it)
                 'made() { local p=$1 a=$1; while [ ! -e "$a" ]; do a=$(dirname "$a"); done;'
                 ' if [ "$a" = / ]; then echo "mount point $p: a new folder at the top is not supported" >&2;'
                 ' exit 1; fi;'
                 ' if [ "$a" != "$p" ]; then under "$a" || { ovl "$a" "$a"; OVL="$OVL $a"; }; mkdir -p "$p"; fi; }',
                 'madefile() { local d; d=$(dirname "$1"); made "$d";'
                 ' if [ ! -e "$1" ]; then [ "$d" != / ] || { echo "mount point $1: a new file at the top is not'
                 ' supported" >&2; exit 1; }; under "$d" || { ovl "$d" "$d"; OVL="$OVL $d"; }; touch "$1"; fi; }',
                 'OVL=']
        tmp = os.path.join(self.dir, 'tmp')
        os.makedirs(tmp, exist_ok=True)
        os.chmod(tmp, 0o1777)
        for host, path, ro, owner, copy in mounts:
            if os.path.isdir(host):
                lines.append('made %s' % q(path))
            else:
                lines.append('madefile %s' % q(path))
            if copy:
                lines.append('ovl %s %s' % (q(host), q(path)))
                if owner is not None:
                    lines.append('chown %d:%d %s' % (owner, owner, q(path)))
            else:
                lines.append('mount --bind %s %s' % (q(host), q(path)))
                if ro:
                    lines.append('mount -o remount,bind,ro %s' % q(path))
        lines.append('mount --bind %s /etc/hosts' % q(os.path.join(self.dir, 'hosts')))
        # last: the host paths above may lie under /tmp
        lines.append('mount --bind %s /tmp' % q(tmp))
        lines.append('hostname %s' % q(self.hostname))
        lines.append('exec sleep infinity')
        return '\n'.join(lines) + '\n'

    def _start_sandbox(self):
        os.makedirs(self.dir, exist_ok=True)
        self.netn, self.ip, self.podns = self.r.net.attach()
        mounts, seen = [], {}
        vols = {v['name']: v for v in self.pod['spec'].get('volumes') or []}
        for c in self.inits + self.mains:
            for host, path, owner, copy in image_layers(c.spec['image'], self.r):
                if path not in seen:
                    seen[path] = True
                    mounts.append((host, path, not copy, owner, copy))
        self.r.pod_ip_known(self)   # the hosts files need this pod before it starts
        vdirs = {}
        for c in self.inits + self.mains:
            for vm in c.spec.get('volumeMounts') or []:
                path = vm['mountPath']
                if path in seen:
                    continue
                seen[path] = True
                v = vols.get(vm['name'])
                if v is None:
                    raise RuntimeError('volumeMount %s names no volume' % vm['name'])
                if vm['name'] not in vdirs:
                    vdirs[vm['name']] = self._volume_dir(v)
                host, ro = vdirs[vm['name']]
                if vm.get('subPath'):
                    host = os.path.join(host, vm['subPath'])
                # BED DIFFERENCE: all containers of a pod share one mount
                # namespace (a path mounted in one is seen by the others).
                mounts.append((host, path, ro or bool(vm.get('readOnly')), None, False))
        script = self._sandbox_script(mounts)
        with open(os.path.join(self.dir, 'sandbox.sh'), 'w') as f:
            f.write(script)
        self.pause = subprocess.Popen(
            ['ip', 'netns', 'exec', self.podns, 'unshare', '--mount', '--uts', '--propagation', 'private',
             'bash', os.path.join(self.dir, 'sandbox.sh')],
            stdout=open(os.path.join(self.dir, 'sandbox.log'), 'ab'), stderr=subprocess.STDOUT,
            start_new_session=True)
        # ready when the hostname is set (the last step before sleep)
        for _ in range(200):
            if self.pause.poll() is not None:
                raise RuntimeError('sandbox failed: ' + open(os.path.join(self.dir, 'sandbox.log')).read()[-2000:])
            try:
                if os.readlink('/proc/%d/exe' % self.pause.pid).endswith('/sleep'):
                    # for `exec` into the pod (nsenter -t PID -n -m -u)
                    with open(os.path.join(self.dir, 'pause.pid'), 'w') as f:
                        f.write('%d\n' % self.pause.pid)
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError('sandbox did not come up')

    # -- containers
    def _env(self, c):
        spec = c.spec
        env = {'PATH': image_env_path(spec['image']), 'HOSTNAME': self.hostname, 'HOME': '/'}
        env.update(self.r.service_env(self))
        for e in spec.get('env') or []:
            if 'value' in e:
                env[e['name']] = expand_refs(e['value'], env)
            elif 'valueFrom' in e:
                vf = e['valueFrom']
                if 'fieldRef' in vf:
                    env[e['name']] = field_ref(self.pod, vf['fieldRef']['fieldPath'], self.ip, self.r.node_ip)
                elif 'resourceFieldRef' in vf:
                    rf = vf['resourceFieldRef']
                    kind, res = rf['resource'].split('.', 1)
                    v = ((spec.get('resources') or {}).get(kind) or {}).get(res)
                    b = parse_quantity(v) if v else None
                    div = parse_quantity(rf.get('divisor', '1')) or 1
                    env[e['name']] = str(int(-(-b // div))) if b else '0'
                elif 'configMapKeyRef' in vf or 'secretKeyRef' in vf:
                    kind = 'configMap' if 'configMapKeyRef' in vf else 'secret'
                    ref = vf.get('configMapKeyRef') or vf.get('secretKeyRef')
                    obj = self.r.get_object(kind, self.ns, ref['name']) or {}
                    v = self._object_files(obj, kind).get(ref['key'], b'')
                    env[e['name']] = v.decode() if isinstance(v, bytes) else v
        env = self.r.override_env(self, c, env)
        return env

    def _start(self, c):
        env = self._env(c)
        argv = [expand_refs(a, env) for a in (c.spec.get('command') or []) + (c.spec.get('args') or [])]
        if not argv:
            raise RuntimeError('container %s: no command (image entrypoints are not in the image table)' % c.name)
        sc = c.spec.get('securityContext') or {}
        uid = sc.get('runAsUser', self.uid)
        gid = sc.get('runAsGroup', self.gid)
        cmd = ['nsenter', '-t', str(self.pause.pid), '-n', '-m', '-u', '--wd=' + (c.spec.get('workingDir') or '/'),
               '--', 'setpriv', '--reuid', str(uid), '--regid', str(gid),
               '--groups', ','.join(str(g) for g in self.groups) or str(gid)]
        if sc.get('allowPrivilegeEscalation') is False:
            cmd.append('--no-new-privs')
        if 'ALL' in ((sc.get('capabilities') or {}).get('drop') or []):
            cmd += ['--inh-caps=-all', '--bounding-set=-all']
        cmd += ['--'] + argv
        logf = open(os.path.join(self.dir, c.name + '.log'), 'ab')
        logf.write(('--- %s start (restart %d)\n' % (now_rfc3339(), c.restarts)).encode())
        logf.flush()
        c.proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        c.started_at = now_rfc3339()
        c.state = {'running': {'startedAt': c.started_at}}
        c.ready = False
        c.probe_ok = c.probe_fail = 0
        p = c.spec.get('readinessProbe') or {}
        c.next_probe = time.monotonic() + p.get('initialDelaySeconds', 0)
        self.r.changed()

    def _exited(self, c, rc):
        code = rc if rc >= 0 else 128 - rc
        term = {'exitCode': code, 'reason': 'Completed' if code == 0 else 'Error',
                'startedAt': c.started_at, 'finishedAt': now_rfc3339(), 'containerID': ''}
        if rc < 0:
            term['signal'] = -rc
        c.proc = None
        c.ready = False
        return term

    def _probe(self, c):
        p = c.spec.get('readinessProbe')
        if not p:
            c.ready = True
            return
        t = time.monotonic()
        if t < c.next_probe:
            return
        c.next_probe = t + p.get('periodSeconds', 10)
        ok = False
        if 'tcpSocket' in p:
            ok = self.r.net.tcp_check(self.ip, self._port(c, p['tcpSocket']['port']), p.get('timeoutSeconds', 1))
        elif 'exec' in p:
            r = subprocess.run(['nsenter', '-t', str(self.pause.pid), '-n', '-m', '-u', '--',
                                'setpriv', '--reuid', str(self.uid), '--regid', str(self.gid), '--clear-groups',
                                '--'] + p['exec']['command'], env=self._env(c), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=p.get('timeoutSeconds', 1) + 5)
            ok = r.returncode == 0
        elif 'httpGet' in p:
            ok = self.r.net.tcp_check(self.ip, self._port(c, p['httpGet']['port']), p.get('timeoutSeconds', 1))
        was = c.ready
        if ok:
            c.probe_ok += 1
            c.probe_fail = 0
            if c.probe_ok >= p.get('successThreshold', 1):
                c.ready = True
        else:
            c.probe_fail += 1
            c.probe_ok = 0
            if c.probe_fail >= p.get('failureThreshold', 3) or not was:
                c.ready = False
        if was != c.ready:
            self.r.changed()

    @staticmethod
    def _port(c, port):
        if isinstance(port, int):
            return port
        for p in c.spec.get('ports') or []:
            if p.get('name') == port:
                return p['containerPort']
        return int(port)

    def _backoff(self, c):
        # the kubelet's: 10 s, doubling, at most 5 minutes; reset after 10 minutes running
        d = min(self.r.backoff_base * (2 ** max(c.restarts - 1, 0)), 300)
        c.backoff_until = time.monotonic() + d
        c.state = {'waiting': {'reason': 'CrashLoopBackOff',
                               'message': 'back-off %ds restarting failed container=%s pod=%s' % (d, c.name, self.name)}}
        self.r.changed()

    def _main(self):
        try:
            self._start_sandbox()
        except Exception as e:
            log('%s: %s' % (self.key, e))
            self.phase = 'Failed'
            return self._teardown()
        self.phase = 'Pending'
        self.started_at = now_rfc3339()
        self.r.changed()
        policy = self.pod['spec'].get('restartPolicy', 'Always')
        for c in self.inits:
            while not self.stopping.is_set():
                if time.monotonic() < c.backoff_until:
                    self.stopping.wait(0.2)
                    continue
                self._start(c)
                rc = self._wait(c)
                if rc is None:
                    return self._teardown()
                term = self._exited(c, rc)
                c.state = {'terminated': term}
                if term['exitCode'] == 0:
                    self.r.changed()
                    break
                c.last_state = {'terminated': term}
                if policy == 'Never':
                    self.phase = 'Failed'
                    self.r.changed()
                    return self._teardown(wait_stop=True)
                c.restarts += 1
                self._backoff(c)
        if self.stopping.is_set():
            return self._teardown()
        self.initialized = True
        self.phase = 'Running'
        for c in self.mains:
            self._start(c)
        while not self.stopping.is_set():
            for c in self.mains:
                if c.proc is not None:
                    rc = c.proc.poll()
                    if rc is None:
                        self._probe(c)
                        continue
                    term = self._exited(c, rc)
                    c.last_state = {'terminated': term}
                    log('%s: container %s exited %s' % (self.key, c.name, term['exitCode']))
                    if policy == 'Never' or (policy == 'OnFailure' and term['exitCode'] == 0):
                        c.state = {'terminated': term}
                        self.r.changed()
                        continue
                    c.restarts += 1
                    self._backoff(c)
                elif 'waiting' in c.state and time.monotonic() >= c.backoff_until:
                    self._start(c)
            if self.mains and all('terminated' in c.state for c in self.mains):
                self.phase = 'Succeeded' if all(c.state['terminated']['exitCode'] == 0 for c in self.mains) \
                    else 'Failed'
                self.r.changed()
                break
            self.stopping.wait(0.5)
        self._teardown()

    def _wait(self, c):
        while not self.stopping.is_set():
            rc = c.proc.poll()
            if rc is not None:
                return rc
            self.stopping.wait(0.2)
        return None

    def stop(self):
        self.stopping.set()

    def _teardown(self, wait_stop=False):
        if wait_stop:
            self.stopping.wait()
        grace = min(self.pod['spec'].get('terminationGracePeriodSeconds', 30), self.r.max_grace)
        live = [c for c in self.inits + self.mains if c.proc is not None and c.proc.poll() is None]
        for c in live:
            try:
                os.killpg(c.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for c in live:
            try:
                c.proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
        for c in live:
            if c.proc.poll() is None:
                try:
                    os.killpg(c.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                c.proc.wait()
            c.state = {'terminated': self._exited(c, c.proc.returncode if c.proc else 137)}
        if self.pause is not None and self.pause.poll() is None:
            os.killpg(self.pause.pid, signal.SIGKILL)
            self.pause.wait()
        if self.podns:
            self.r.net.detach(self.netn, self.podns)
            self.podns = None
        self.r.changed()

    def is_ready(self):
        return self.phase == 'Running' and bool(self.mains) and all(c.ready for c in self.mains)

    def _cond(self, kind, ok):
        v = 'True' if ok else 'False'
        prev = self.conds.get(kind)
        if prev is None or prev[0] != v:
            self.conds[kind] = (v, now_rfc3339())
        return {'type': kind, 'status': v, 'lastTransitionTime': self.conds[kind][1], 'lastProbeTime': None}

    def status(self):
        ready = self.is_ready()
        conds = [self._cond('PodScheduled', True), self._cond('Initialized', self.initialized),
                 self._cond('ContainersReady', ready), self._cond('Ready', ready)]
        st = {'phase': self.phase, 'conditions': conds, 'hostIP': self.r.node_ip, 'startTime': self.started_at,
              'initContainerStatuses': [c.status(c.spec['image']) for c in self.inits],
              'containerStatuses': [c.status(c.spec['image']) for c in self.mains]}
        if self.ip:
            st['podIP'] = self.ip
            st['podIPs'] = [{'ip': self.ip}]
            st['hostIPs'] = [{'ip': self.r.node_ip}]
        return st


def q(s):
    return "'" + s.replace("'", "'\\''") + "'"


# ---- the runner -----------------------------------------------------------

class Runner:
    """Pods, the hosts files, and what a mode provides (objects, tokens)."""

    def __init__(self, args):
        self.state = os.path.abspath(args.state)
        os.makedirs(self.state, exist_ok=True)
        # one runner per state folder: a second one would share the pods' folders
        import fcntl
        self._lockf = open(os.path.join(self.state, 'runner.lock'), 'w')
        try:
            fcntl.flock(self._lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            sys.exit('podrunner: another runner uses %s' % self.state)
        self.tag = secrets.token_hex(3)
        self.net = Network(self.tag)
        self.node_ip = GATEWAY
        self.pods = {}
        self.lock = threading.RLock()
        self.hosts_lock = threading.Lock()
        self.dirty = threading.Event()
        self.backoff_base = args.backoff_seconds
        self.max_grace = args.max_grace_seconds
        self.heap = dict(kv.split('=', 1) for kv in args.heap or [])
        self.jvm_opts = args.jvm_opts
        self.objects = {}   # (kind, ns, name) -> object

    # objects the pods refer to
    def get_object(self, kind, ns, name):
        return self.objects.get((kind, ns, name))

    def service_account_token(self, pod, req):
        return 'no API server in local mode\n'

    def service_env(self, pod):
        return {}

    def override_env(self, pod, c, env):
        # BED DIFFERENCE: JVM heaps are capped so that several clusters fit
        # on the test machine (--heap ROLE=OPTS replaces KAFKA_HEAP_OPTS of the
        # containers whose SP_ROLE is ROLE, or of all with ROLE '*').
        role = env.get('SP_ROLE', '')
        if 'KAFKA_HEAP_OPTS' in env and (role in self.heap or '*' in self.heap):
            env['KAFKA_HEAP_OPTS'] = self.heap.get(role, self.heap.get('*'))
        # BED DIFFERENCE: --jvm-opts replaces Kafka's JVM defaults (the image's
        # KAFKA_JVM_PERFORMANCE_OPTS, tuned for servers) in every JVM of the
        # apache/kafka image, e.g. the client compiler only: half the CPU to start
        if self.jvm_opts and image_name(c.spec['image']) == 'apache/kafka' \
                and 'KAFKA_JVM_PERFORMANCE_OPTS' not in {e['name'] for e in c.spec.get('env') or []}:
            env['KAFKA_JVM_PERFORMANCE_OPTS'] = self.jvm_opts
        return env

    def changed(self):
        self.dirty.set()

    def add(self, pod):
        p = Pod(self, pod)
        with self.lock:
            self.pods[p.key] = p
        p.thread.start()
        return p

    def delete(self, key):
        with self.lock:
            p = self.pods.pop(key, None)
        if p:
            p.stop()
        return p

    def pod_ip_known(self, pod):
        self.write_hosts()

    # /etc/hosts of every pod, as cluster DNS would answer: a Service's name
    # gives its ready pods (a headless one with publishNotReadyAddresses, all
    # it selects), and a pod's <hostname>.<subdomain> name exists only when a
    # headless Service named <subdomain> selects it, on the same terms.
    def hosts_common(self):
        lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback']
        with self.lock:
            pods = [p for p in self.pods.values() if p.ip and p.podns]
            svcs = [(k, o) for k, o in self.objects.items() if k[0] == 'service']
        for (kind, ns, name), svc in sorted(svcs, key=lambda x: x[0]):
            spec = svc.get('spec') or {}
            sel = spec.get('selector') or {}
            if not sel:
                continue
            headless = spec.get('clusterIP') == 'None'
            for p in pods:
                if p.ns != ns or not all(p.pod['metadata'].get('labels', {}).get(k) == v for k, v in sel.items()):
                    continue
                if not (p.is_ready() or (headless and spec.get('publishNotReadyAddresses'))):
                    continue
                lines.append('%s\t%s.%s.svc.cluster.local %s.%s.svc' % (p.ip, name, ns, name, ns))
                if headless and p.subdomain == name:
                    lines.append('%s\t%s' % (p.ip, p.fqdn()))
        return lines

    def write_hosts(self):
        with self.hosts_lock:
            common = self.hosts_common()
            with self.lock:
                pods = list(self.pods.values())
            for p in pods:
                # the pod's own line comes first, as the kubelet writes it: Java's
                # canonical host name (Kafka's default listener host) reads it
                own = ['%s\t%s' % (p.ip, ' '.join(n for n in (p.fqdn(), p.hostname) if n))] if p.ip else []
                text = ('\n'.join(common[:2] + own + common[2:]) + '\n').encode()
                os.makedirs(p.dir, exist_ok=True)
                # in place: the file is bind-mounted, a rename would not be seen
                fd = os.open(os.path.join(p.dir, 'hosts'), os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, text, 0)
                finally:
                    os.close(fd)

    def shutdown(self):
        with self.lock:
            pods = list(self.pods.values())
            self.pods = {}
        for p in pods:
            p.stop()
        for p in pods:
            p.thread.join(timeout=self.max_grace + 30)
        self.net.destroy()

    def write_status(self):
        """status.json under the state folder: every pod with its status (what tests read)."""
        with self.lock:
            items = [dict(p.pod, status=p.status()) for p in self.pods.values()]
        tmp = self.status_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'items': items, 'network_namespace': self.net.ns}, f, indent=1)
        os.replace(tmp, self.status_path)


# ---- local mode: the rendered objects, without an API server ---------------

class LocalRunner(Runner):
    """BED DIFFERENCE (local mode only): the StatefulSet controller's part is
    done here, pods go round-robin to made-up nodes in zones a, b, c, and the
    kubectl image holds a STAND-IN that answers only what broker-init asks
    about a node (its zone); with no API server it can do nothing else."""

    ZONES = ['zone-a', 'zone-b', 'zone-c']

    def __init__(self, args):
        super().__init__(args)
        self.kubectl_dir = os.path.join(self.state, 'kubectl-standin')
        os.makedirs(self.kubectl_dir, exist_ok=True)
        with open(os.path.join(self.kubectl_dir, 'kubectl'), 'w') as f:
            f.write('#!/bin/bash\n# kubectl STAND-IN of podrunner\'s local mode (no API server there).\n'
                    'case "$*" in\n'
                    '  "get node "*"topology\\.kubernetes\\.io/zone"*) n=${3##*-}; z=(%s); printf %%s "${z[$((n %% 3))]}" ;;\n'
                    '  *) echo "kubectl stand-in (local mode, no API server): cannot do: $*" >&2; exit 1 ;;\n'
                    'esac\n' % ' '.join(self.ZONES))
        os.chmod(os.path.join(self.kubectl_dir, 'kubectl'), 0o755)
        self.status_path = os.path.join(self.state, 'status.json')
        self.node_of = {}

    def load(self, mdir):
        import yaml  # python3-yaml (Debian); only local mode reads YAML
        objs = []
        for fn in sorted(os.listdir(mdir)):
            path = os.path.join(mdir, fn)
            if fn.endswith(('.yaml', '.yml')):
                with open(path) as f:
                    objs += [o for o in yaml.safe_load_all(f) if o]
            elif fn.endswith('.json'):
                with open(path) as f:
                    objs.append(json.load(f))
        for o in objs:
            md = o.get('metadata') or {}
            kind = o['kind'][0].lower() + o['kind'][1:]
            self.objects[(kind, md.get('namespace', ''), md['name'])] = o
        return objs

    def pods_of(self, sts, n_node):
        md, spec = sts['metadata'], sts['spec']
        out = []
        for i in range(spec.get('replicas', 1)):
            name = '%s-%d' % (md['name'], i)
            tmpl = json.loads(json.dumps(spec['template']))
            pmd = tmpl.setdefault('metadata', {})
            pmd.update({'name': name, 'namespace': md['namespace'], 'uid': secrets.token_hex(8)})
            labels = pmd.setdefault('labels', {})
            labels['statefulset.kubernetes.io/pod-name'] = name
            labels['apps.kubernetes.io/pod-index'] = str(i)
            ps = tmpl['spec']
            ps['hostname'] = name
            ps['subdomain'] = spec.get('serviceName')
            ps['nodeName'] = 'node-%d' % ((n_node + i) % 3)
            vols = ps.setdefault('volumes', [])
            for vct in spec.get('volumeClaimTemplates') or []:
                vn = vct['metadata']['name']
                vols.append({'name': vn, 'persistentVolumeClaim': {'claimName': '%s-%s' % (vn, name)}})
            out.append({'apiVersion': 'v1', 'kind': 'Pod', 'metadata': pmd, 'spec': ps})
        return out


def main_local(args):
    r = LocalRunner(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        objs = r.load(args.manifests)
        k = 0
        for o in objs:
            if o['kind'] == 'StatefulSet':
                for pod in r.pods_of(o, k):
                    r.add(pod)
                k += 1
        with open(os.path.join(r.state, 'netns'), 'w') as f:
            f.write(r.net.ns + '\n')
        while not stop.is_set():
            if r.dirty.wait(0.5):
                r.dirty.clear()
                r.write_hosts()
                r.write_status()
    finally:
        r.shutdown()
        r.write_status()

# ---- bed mode: the runner is the kubelet of its own nodes ------------------

class Api:
    """The API server, with the bed's admin client certificate (stdlib only)."""

    def __init__(self, server, ca, cert, key):
        import ssl
        import urllib.parse
        u = urllib.parse.urlsplit(server)
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)

    def call(self, method, path, body=None, ctype='application/json'):
        import http.client
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {'Accept': 'application/json'}
        if data is not None:
            headers['Content-Type'] = ctype
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=20)
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            raw = r.read()
        finally:
            c.close()
        try:
            return r.status, (json.loads(raw) if raw else None)
        except ValueError:
            return r.status, None


def pump(a, b):
    """Copies a to b until either side closes; then closes both."""
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


class Forwarder:
    """Accepts on a listening socket and joins each connection to one that
    connect() makes (in whatever namespace it makes it)."""

    def __init__(self, lsock, connect, name):
        self.lsock, self.connect, self.name = lsock, connect, name
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._join, args=(c,), daemon=True).start()

    def _join(self, c):
        try:
            u = self.connect()
        except Exception as e:  # no backend: the client sees the connection close
            log('%s: no backend (%s)' % (self.name, e))
            c.close()
            return
        threading.Thread(target=pump, args=(c, u), daemon=True).start()
        pump(u, c)

    def close(self):
        self.closed = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()


def connect_blocking(addr):
    """A connection made within 10 s, then with no timeout: a forwarded
    connection stays open however long either side is silent (a producer
    waiting for acks=all, a watch), as through a real load balancer."""
    s = socket.create_connection(addr, 10)
    s.settimeout(None)
    return s


def listener(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(64)
    return s


def micro_time():
    t = time.time()
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%06dZ' % int((t % 1) * 1e6)


class BedRunner(Runner):
    """Runs the pods the scheduler binds to this runner's nodes (KWOK leaves
    those nodes alone), reports their status, heartbeats the nodes, stops a
    pod's processes when it is deleted, and forwards each LoadBalancer
    Service's loopback ingress address to the ready pods behind it.

    BED DIFFERENCE: the pods reach the API server at kubernetes.default.svc
    (the runner's address on the pod network, forwarded to the API server on
    loopback) instead of the Service's cluster IP, which nothing routes here."""

    def __init__(self, args):
        super().__init__(args)
        # the bed's ports file (written before its components start) names the API server
        env = {}
        with open(os.path.join(args.bed, 'ports')) as f:
            for line in f:
                k, _, v = line.strip().partition('=')
                if k:
                    env[k] = v
        self.bed = os.path.abspath(args.bed)
        server = 'https://127.0.0.1:%s' % env['API_PORT']
        pki = os.path.join(self.bed, 'pki')
        self.api = Api(server, os.path.join(pki, 'ca.crt'), os.path.join(pki, 'admin.crt'),
                       os.path.join(pki, 'admin.key'))
        self.nodes = [n for n in args.nodes.split(',') if n]
        kd = subprocess.run([os.path.join(ROOT, 'scripts', 'kafka'), 'kubectl'], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
        self.kubectl_dir = os.path.join(kd, 'bin')
        api_port = int(env['API_PORT'])
        lsock = self.net.threads.call(lambda: listener(GATEWAY, 443))
        self.api_fwd = Forwarder(lsock, lambda: connect_blocking(('127.0.0.1', api_port)), 'api')
        self.lbs = {}          # (ip, port) -> (Forwarder, ns, service name, service port)
        self.sent = {}         # pod uid -> last status sent
        self.deleting = {}     # pod key -> pod object (deletionTimestamp seen)
        self.status_path = os.path.join(self.state, 'status.json')

    # what pods refer to, from the API server
    def get_object(self, kind, ns, name):
        if kind == 'service':
            return self.objects.get((kind, ns, name))
        plural = {'configMap': 'configmaps', 'secret': 'secrets'}[kind]
        code, obj = self.api.call('GET', '/api/v1/namespaces/%s/%s/%s' % (ns, plural, name))
        return obj if code == 200 else None

    def service_account_token(self, pod, req):
        md = pod.pod['metadata']
        sa = pod.pod['spec'].get('serviceAccountName') or 'default'
        body = {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest',
                'spec': {'expirationSeconds': max(req.get('expirationSeconds', 3607), 600),
                         'boundObjectRef': {'kind': 'Pod', 'apiVersion': 'v1', 'name': md['name'],
                                            'uid': md['uid']}}}
        if req.get('audience'):
            body['spec']['audiences'] = [req['audience']]
        code, obj = self.api.call('POST', '/api/v1/namespaces/%s/serviceaccounts/%s/token' % (md['namespace'], sa),
                                  body)
        if code != 201:
            raise RuntimeError('token request for %s: HTTP %s' % (sa, code))
        return obj['status']['token']

    def service_env(self, pod):
        return {'KUBERNETES_SERVICE_HOST': 'kubernetes.default.svc', 'KUBERNETES_SERVICE_PORT': '443',
                'KUBERNETES_SERVICE_PORT_HTTPS': '443', 'KUBERNETES_PORT': 'tcp://kubernetes.default.svc:443'}

    def hosts_common(self):
        lines = super().hosts_common()
        return lines + ['%s\tkubernetes.default.svc kubernetes.default.svc.cluster.local' % GATEWAY]

    # the nodes: Ready while the runner runs
    def heartbeat(self):
        for n in self.nodes:
            t = now_rfc3339()
            conds = [{'type': k, 'status': 'False', 'reason': 'KubeletHasSufficient' + k[:-8] if k != 'Ready' else '',
                      'lastHeartbeatTime': t} for k in ('MemoryPressure', 'DiskPressure', 'PIDPressure')]
            conds.append({'type': 'Ready', 'status': 'True', 'reason': 'KubeletReady',
                          'message': 'podrunner is posting ready status', 'lastHeartbeatTime': t})
            cap = {'cpu': '64', 'memory': '256Gi', 'pods': '110', 'ephemeral-storage': '1Ti'}
            st = {'status': {'conditions': conds, 'capacity': cap, 'allocatable': cap,
                             'addresses': [{'type': 'InternalIP', 'address': GATEWAY}, {'type': 'Hostname', 'address': n}],
                             'nodeInfo': {'kubeletVersion': 'v0.0.0-podrunner', 'containerRuntimeVersion': 'podrunner://1',
                                          'operatingSystem': 'linux', 'architecture': 'amd64'},
                             'daemonEndpoints': {'kubeletEndpoint': {'Port': 0}}}}
            code, _ = self.api.call('PATCH', '/api/v1/nodes/%s/status' % n, st, 'application/strategic-merge-patch+json')
            if code != 200:
                log('node %s status: HTTP %s' % (n, code))
            lease = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/' + n
            spec = {'holderIdentity': n, 'leaseDurationSeconds': 40, 'renewTime': micro_time()}
            code, _ = self.api.call('PATCH', lease, {'spec': spec}, 'application/merge-patch+json')
            if code == 404:
                self.api.call('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
                              {'apiVersion': 'coordination.k8s.io/v1', 'kind': 'Lease',
                               'metadata': {'name': n, 'namespace': 'kube-node-lease'}, 'spec': spec})

    # the pods bound to our nodes
    def sync_pods(self):
        seen = {}
        for n in self.nodes:
            code, lst = self.api.call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3D' + n)
            if code != 200:
                return
            for pod in lst['items']:
                seen['%s/%s' % (pod['metadata']['namespace'], pod['metadata']['name'])] = pod
        with self.lock:
            mine = dict(self.pods)
        for key, pod in seen.items():
            p = mine.get(key)
            if p is not None and p.pod['metadata']['uid'] != pod['metadata']['uid']:
                self.delete(key)          # an old pod of that name; the new one starts once it is gone
                continue
            if p is None and key not in self.deleting and not pod['metadata'].get('deletionTimestamp'):
                self.add(pod)
            elif pod['metadata'].get('deletionTimestamp') and key not in self.deleting:
                self.deleting[key] = pod
                if p is not None:
                    p.stop()
        for key, p in mine.items():
            if key not in seen:           # removed without us (forced): stop it
                self.delete(key)
        for key, pod in list(self.deleting.items()):
            p = mine.get(key)
            if p is None or not p.thread.is_alive():
                md = pod['metadata']
                self.api.call('DELETE', '/api/v1/namespaces/%s/pods/%s' % (md['namespace'], md['name']),
                              {'apiVersion': 'v1', 'kind': 'DeleteOptions', 'gracePeriodSeconds': 0,
                               'preconditions': {'uid': md['uid']}})
                with self.lock:
                    if self.pods.get(key) is p:
                        self.pods.pop(key, None)
                del self.deleting[key]
                self.changed()
        with self.lock:
            for key, p in list(self.pods.items()):
                if not p.thread.is_alive() and key not in seen:
                    self.pods.pop(key, None)

    def report(self):
        with self.lock:
            pods = list(self.pods.values())
        for p in pods:
            md = p.pod['metadata']
            if p.stopping.is_set():
                continue
            st = p.status()
            if self.sent.get(md['uid']) == st:
                continue
            code, _ = self.api.call('PATCH', '/api/v1/namespaces/%s/pods/%s/status' % (md['namespace'], md['name']),
                                    {'status': st}, 'application/merge-patch+json')
            if code == 200:
                self.sent[md['uid']] = st

    # Services: names for the hosts files, and the load balancers
    def sync_services(self):
        code, lst = self.api.call('GET', '/api/v1/services')
        if code != 200:
            return
        objs = {k: v for k, v in self.objects.items() if k[0] != 'service'}
        want = {}
        with self.lock:
            ours = {p.ns for p in self.pods.values()}
        for svc in lst['items']:
            md, spec = svc['metadata'], svc.get('spec') or {}
            objs[('service', md['namespace'], md['name'])] = svc
            # only the load balancers of namespaces whose pods run here (the
            # bed's other nodes are KWOK's: no process behind their pods)
            if spec.get('type') != 'LoadBalancer' or md['namespace'] not in ours:
                continue
            for ing in (svc.get('status') or {}).get('loadBalancer', {}).get('ingress') or []:
                for sp in spec.get('ports') or []:
                    if ing.get('ip'):
                        want[(ing['ip'], sp['port'])] = (md['namespace'], md['name'], sp)
        if objs != self.objects:
            self.objects = objs
            self.changed()
        for k in list(self.lbs):
            if k not in want:
                self.lbs.pop(k)[0].close()
        for k, (ns, name, sp) in want.items():
            if k in self.lbs:
                continue
            try:
                ls = listener(*k)
            except OSError as e:
                log('load balancer %s:%d for %s/%s: %s' % (k[0], k[1], ns, name, e))
                continue
            self.lbs[k] = (Forwarder(ls, lambda ns=ns, name=name, sp=sp: self._backend(ns, name, sp),
                                     'lb %s/%s' % (ns, name)), ns, name, sp)

    def _backend(self, ns, name, sp):
        svc = self.objects.get(('service', ns, name)) or {}
        sel = (svc.get('spec') or {}).get('selector') or {}
        with self.lock:
            pods = [p for p in self.pods.values() if p.ns == ns and p.is_ready() and p.ip and
                    all(p.pod['metadata'].get('labels', {}).get(k) == v for k, v in sel.items())]
        if not pods:
            raise RuntimeError('no ready pod')
        p = pods[secrets.randbelow(len(pods))]
        port = sp.get('targetPort', sp['port'])
        if not isinstance(port, int):
            port = next((cp['containerPort'] for c in p.mains for cp in c.spec.get('ports') or []
                         if cp.get('name') == port), None)
        return self.net.threads.call(lambda: connect_blocking((p.ip, port)))

    def shutdown(self):
        for fw in list(self.lbs.values()):
            fw[0].close()
        self.api_fwd.close()
        super().shutdown()


def main_bed(args):
    r = BedRunner(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(os.path.join(r.state, 'netns'), 'w') as f:
        f.write(r.net.ns + '\n')

    def beat():
        while not stop.is_set():
            try:
                r.heartbeat()
            except Exception as e:
                log('heartbeat:', e)
            stop.wait(10)
    threading.Thread(target=beat, daemon=True).start()
    try:
        while not stop.is_set():
            try:
                r.sync_pods()
                r.sync_services()
                if r.dirty.is_set():
                    r.dirty.clear()
                    r.write_hosts()
                    r.write_status()
                r.report()
            except Exception as e:
                log('sync:', e)
            stop.wait(1)
    finally:
        r.shutdown()



def main():
    ap = argparse.ArgumentParser(prog='podrunner.py')
    sub = ap.add_subparsers(dest='mode', required=True)
    lp = sub.add_parser('local', help='run the StatefulSets of rendered objects, no API server')
    lp.add_argument('--manifests', required=True)
    bp = sub.add_parser('bed', help="be the kubelet of some of a bed's nodes (scripts/bed)")
    bp.add_argument('--bed', required=True, help='the folder of `scripts/bed up DIR`')
    bp.add_argument('--nodes', required=True, help='comma-separated node names the runner owns')
    for p in (lp, bp):
        p.add_argument('--state', required=True, help='pods, volumes, logs, status.json')
        p.add_argument('--jvm-opts', metavar='OPTS',
                       help="KAFKA_JVM_PERFORMANCE_OPTS for the apache/kafka image's JVMs (default: Kafka's)")
        p.add_argument('--heap', action='append', metavar='ROLE=OPTS',
                       help="replace KAFKA_HEAP_OPTS of containers with SP_ROLE=ROLE ('*' for all)")
        p.add_argument('--backoff-seconds', type=float, default=10, help='first crash-loop back-off (10)')
        p.add_argument('--max-grace-seconds', type=float, default=30,
                       help='cap on terminationGracePeriodSeconds (30)')
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit('podrunner: needs root (network and mount namespaces)')
    if args.mode == 'local':
        main_local(args)
    else:
        main_bed(args)


if __name__ == '__main__':
    main()
