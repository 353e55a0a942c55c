print("kube-oidc-proxy")
