// Kubernetes NetworkPolicy semantics over rendered objects: may this pod reach that pod on that port? Written by
// hand because no maintained JavaScript library evaluates policies; it follows the API reference
// (networking.k8s.io/v1): a pod selected by a policy of a type is isolated for that direction, and a connection
// needs both the source's egress and the destination's ingress to allow it.

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: unknown;
}

interface PortRule {
  port?: number | string;
  protocol?: string;
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PortRule[];
}

export interface NetworkPolicy {
  metadata: { name: string; namespace?: string };
  spec: { podSelector: LabelSelector; policyTypes?: ("Ingress" | "Egress")[]; ingress?: Rule[]; egress?: Rule[] };
}

export interface PodModel {
  name: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
  /** Container ports by name, for named ports in rules. */
  ports: Record<string, number>;
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
    if (e.operator === "In" && !(has && e.values!.includes(labels[e.key]!))) return false;
    if (e.operator === "NotIn" && has && e.values!.includes(labels[e.key]!)) return false;
  }
  return true;
}

function peerMatches(peer: Peer, policyNamespace: string, pod: PodModel): boolean {
  if (peer.ipBlock) return false; // CIDRs never name pods
  const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, pod.namespaceLabels) : pod.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, pod.labels) : true;
  return nsOk && podOk;
}

function portMatches(rules: PortRule[] | undefined, port: number, protocol: string, target: PodModel): boolean {
  if (!rules || rules.length === 0) return true;
  return rules.some((r) => {
    if ((r.protocol ?? "TCP") !== protocol) return false;
    if (r.port === undefined) return true;
    return typeof r.port === "number" ? r.port === port : target.ports[r.port] === port;
  });
}

function allowedBy(policies: NetworkPolicy[], subject: PodModel, type: "Ingress" | "Egress", peer: PodModel, port: number, protocol: string, target: PodModel): boolean {
  const applying = policies.filter(
    (p) => (p.metadata.namespace ?? subject.namespace) === subject.namespace && selects(p.spec.podSelector, subject.labels) && (p.spec.policyTypes ?? ["Ingress"]).includes(type),
  );
  if (applying.length === 0) return true; // not isolated in this direction
  return applying.some((p) =>
    ((type === "Ingress" ? p.spec.ingress : p.spec.egress) ?? []).some((rule) => {
      const peers = type === "Ingress" ? rule.from : rule.to;
      const peerOk = !peers || peers.length === 0 || peers.some((x) => peerMatches(x, p.metadata.namespace ?? subject.namespace, peer));
      return peerOk && portMatches(rule.ports, port, protocol, target);
    }),
  );
}

/** Whether `from` may open a connection to `to` on `port`. */
export function mayConnect(policies: NetworkPolicy[], from: PodModel, to: PodModel, port: number, protocol = "TCP"): boolean {
  return allowedBy(policies, from, "Egress", to, port, protocol, to) && allowedBy(policies, to, "Ingress", from, port, protocol, to);
}
