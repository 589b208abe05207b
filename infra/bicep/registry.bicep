// The registry the worker images are built into (`az acr build`) and pulled from with the worker's identity (AcrPull).
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: take(toLower('${replace(name, '-', '')}${uniqueString(resourceGroup().id)}'), 50)
  location: location
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
  }
}

output name string = registry.name
output id string = registry.id
output loginServer string = registry.properties.loginServer
