{
  labels(env):: {
    'app.kubernetes.io/name': 'feature-store',
    'app.kubernetes.io/part-of': 'ml-platform',
    environment: env,
  },

  configMap(env):: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'feature-store-config', labels: $.labels(env) },
    data: {
      'feature_store.yaml': std.manifestYamlDoc({
        project: 'ml_platform',
        provider: 'local',
        online_store: { type: 'redis', connection_string: 'redis.feature-store.svc:6379' },
        entity_key_serialization_version: 2,
      }),
    },
  },

  deployment(env, region, replicas):: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'feature-server-' + region, labels: $.labels(env) { region: region } },
    spec: {
      replicas: replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'feature-store', region: region } },
      template: {
        metadata: { labels: $.labels(env) { region: region } },
        spec: {
          containers: [{
            name: 'feature-server',
            image: 'ghcr.io/example/feature-server:0.38.0',
            args: ['serve', '--host', '0.0.0.0'],
            ports: [{ containerPort: 6566, name: 'grpc' }],
            volumeMounts: [{ name: 'config', mountPath: '/feature_repo' }],
          }],
          volumes: [{ name: 'config', configMap: { name: 'feature-store-config' } }],
        },
      },
    },
  },
}
