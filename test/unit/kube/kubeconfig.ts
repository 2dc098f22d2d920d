// A kubeconfig for the unit tests' local stand-ins of the API server (plain http, so
// client-node needs insecure-skip-tls-verify): context `ctx` (namespace test) and `other`.
export function kubeconfig(server: string, token = "tok"): string {
    return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: ${token}
contexts:
- name: ctx
  context:
    cluster: c
    user: u
    namespace: test
- name: other
  context:
    cluster: c
    user: u
current-context: ctx
`;
}
