// A private DNS zone for an internal Container Apps environment: its apps' names resolve to its static IP inside the
// linked virtual network.
@description('The environment\'s default domain.')
param zoneName string

@description('The environment\'s static (internal load balancer) IP.')
param ipAddress string

param vnetId string

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: zoneName
  location: 'global'
}

// <app>.<domain> (external ingress inside the network) and <app>.internal.<domain> (internal ingress).
resource records 'Microsoft.Network/privateDnsZones/A@2024-06-01' = [for record in ['*', '*.internal']: {
  parent: zone
  name: record
  properties: {
    ttl: 300
    aRecords: [
      {
        ipv4Address: ipAddress
      }
    ]
  }
}]

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: zone
  name: 'vnet'
  location: 'global'
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}
