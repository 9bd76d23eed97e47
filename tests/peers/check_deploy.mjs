// Parses the deploy files with real parsers (yaml for the Kubernetes manifests
// and the Prometheus config, JSON for the Grafana dashboard) and prints the
// facts the C++ test compares with tollgate's config, image and routes:
//   node check_deploy.mjs --deploy DIR
// Exit 2 when a file does not parse (the message names it).
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const args = process.argv.slice(2);
const dir = args[args.indexOf('--deploy') + 1];
if (!dir) {
  console.error('usage: check_deploy.mjs --deploy DIR');
  process.exit(64);
}

function fail(file, message) {
  console.error(`${file}: ${message}`);
  process.exit(2);
}

// ---- Kubernetes ----
const manifests = [];
const k8sDir = path.join(dir, 'k8s');
for (const name of fs.readdirSync(k8sDir).filter((n) => n.endsWith('.yaml')).sort()) {
  const file = path.join(k8sDir, name);
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'), { prettyErrors: true });
  for (const doc of docs) {
    if (doc.errors.length) fail(file, doc.errors.map((e) => e.message).join('; '));
    const obj = doc.toJS();
    if (!obj) continue;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) fail(file, 'a manifest without apiVersion, kind or metadata.name');
    manifests.push({ file: name, ...obj });
  }
}
const byKind = (kind) => manifests.filter((m) => m.kind === kind);
const one = (kind) => {
  const list = byKind(kind);
  if (list.length !== 1) fail(k8sDir, `expected one ${kind}, found ${list.length}`);
  return list[0];
};
const deployment = one('Deployment');
const container = deployment.spec.template.spec.containers[0];
const configMap = one('ConfigMap');
const secret = one('Secret');
const service = one('Service');
const hpa = one('HorizontalPodAutoscaler');
const pdb = one('PodDisruptionBudget');
const volumes = Object.fromEntries((deployment.spec.template.spec.volumes || []).map((v) => [v.name, v]));

const k8s = {
  kinds: manifests.map((m) => m.kind).sort(),
  deployment: {
    name: deployment.metadata.name,
    replicas: deployment.spec.replicas,
    selector: deployment.spec.selector.matchLabels,
    pod_labels: deployment.spec.template.metadata.labels,
    annotations: deployment.spec.template.metadata.annotations || {},
    args: container.args || [],
    ports: container.ports || [],
    liveness: container.livenessProbe?.httpGet,
    readiness: container.readinessProbe?.httpGet,
    startup: container.startupProbe?.httpGet,
    resources: container.resources || {},
    pod_security: deployment.spec.template.spec.securityContext || {},
    container_security: container.securityContext || {},
    env_from_secrets: (container.envFrom || []).filter((e) => e.secretRef).map((e) => e.secretRef.name),
    mounts: (container.volumeMounts || []).map((m) => ({ ...m, volume: volumes[m.name] || null })),
    termination_grace_seconds: deployment.spec.template.spec.terminationGracePeriodSeconds,
  },
  configmap: { name: configMap.metadata.name, data: configMap.data || {} },
  secret: { name: secret.metadata.name, keys: Object.keys({ ...(secret.stringData || {}), ...(secret.data || {}) }).sort() },
  service: { selector: service.spec.selector, ports: service.spec.ports },
  hpa: { target: hpa.spec.scaleTargetRef, min: hpa.spec.minReplicas, max: hpa.spec.maxReplicas },
  pdb: { selector: pdb.spec.selector?.matchLabels, min_available: pdb.spec.minAvailable },
};

// ---- Prometheus ----
const promFile = path.join(dir, 'prometheus', 'prometheus.yml');
let prom;
try {
  prom = parseYaml(fs.readFileSync(promFile, 'utf8'), { prettyErrors: true });
} catch (e) {
  fail(promFile, e.message);
}
const prometheus = {
  jobs: (prom.scrape_configs || []).map((j) => ({
    job: j.job_name,
    metrics_path: j.metrics_path || '/metrics',
    targets: (j.static_configs || []).flatMap((s) => s.targets || []),
  })),
};

// ---- Grafana ----
const grafanaDir = path.join(dir, 'grafana');
const grafana = [];
for (const name of fs.readdirSync(grafanaDir).filter((n) => n.endsWith('.json'))) {
  const file = path.join(grafanaDir, name);
  let dash;
  try {
    dash = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, e.message);
  }
  const exprs = [];
  const walk = (panels) => {
    for (const p of panels || []) {
      for (const t of p.targets || []) if (t.expr) exprs.push({ panel: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list || []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (v.type === 'query' && q) exprs.push({ panel: `variable ${v.name}`, expr: q });
  }
  // Every tollgate_… name an expression uses, as written (…_bucket included).
  const metrics = [...new Set(exprs.flatMap((e) => e.expr.match(/\btollgate_[a-z0-9_]+/g) || []))].sort();
  grafana.push({ file: name, title: dash.title, panels: (dash.panels || []).length, exprs, metrics });
}

process.stdout.write(JSON.stringify({ k8s, prometheus, grafana }) + '\n');
