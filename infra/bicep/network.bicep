// One virtual network: the Container Apps environment (internal: the worker has no public endpoint) and the
// Functions app's outbound integration, so the search function reaches the worker's internal ingress.
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

@description('Address space of the virtual network.')
param addressPrefix string = '10.40.0.0/16'

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: '${name}-vnet'
  location: location
  properties: {
    addressSpace: {
      addressPrefixes: [addressPrefix]
    }
    subnets: [
      {
        // Container Apps with workload profiles: a /27 at least, delegated to Microsoft.App/environments.
        name: 'containerapps'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 23, 0)
          delegations: [
            {
              name: 'containerapps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        // Flex Consumption's virtual network integration is delegated to Microsoft.App/environments too.
        name: 'functions'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 2)
          delegations: [
            {
              name: 'functions'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }
}

output id string = vnet.id
output containerAppsSubnetId string = vnet.properties.subnets[0].id
output functionsSubnetId string = vnet.properties.subnets[1].id
