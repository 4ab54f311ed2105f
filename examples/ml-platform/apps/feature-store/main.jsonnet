// Feature store online serving, one Deployment per region, rendered with Jsonnet.
// extVars: env (string); tlas: replicas (code).
local fs = import 'feature-store.libsonnet';

function(replicas=1)
  local env = std.extVar('env');
  [
    fs.configMap(env),
  ] + [
    fs.deployment(env, region, replicas)
    for region in ['us-east-1', 'eu-west-1']
  ]
