//! The live objects of an application, read straight from the API server (direct mode):
//! the objects tracked for it with their descendants, plus the live copies of desired
//! objects that are not tracked yet (a sync adopts them, so the comparison must see them).

use ferrocd_cluster::{Cluster, ClusterError, Inventory};

use crate::prepare::DesiredState;

/// Reads the live state of application `app` whose desired objects are `desired`.
pub async fn load(
    cluster: &Cluster,
    app: &str,
    desired: &DesiredState,
) -> Result<Inventory, ClusterError> {
    let mut inventory = cluster.app_inventory(app, &[]).await?;
    for d in &desired.objects {
        if d.key.name.is_empty() || inventory.tracked.contains_key(&d.key) {
            continue;
        }
        match cluster.get(&d.key).await {
            Ok(Some(obj)) => {
                inventory.tracked.insert(d.key.clone(), obj);
            }
            Ok(None) => {}
            // A kind whose CRD is created by the sync does not exist yet.
            Err(ClusterError::UnknownKind { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(inventory)
}
