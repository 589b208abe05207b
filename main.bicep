// Motif's Azure resources. This first version holds the storage every component shares; later issues add the
// Functions app (custom handler), the Service Bus queues and the GPU worker's container.
// No keys anywhere: shared-key access is off, and components authenticate as the managed identity below.
targetScope = 'resourceGroup'

@description('Short prefix for resource names.')
@minLength(3)
@maxLength(11)
param name string = 'motif'

@description('Azure region.')
param location string = resourceGroup().location

// Storage account names: 3-24 lowercase letters and digits; 11 + 13 characters of uniqueString.
var storageName = toLower('${name}${uniqueString(resourceGroup().id)}')

// Built-in role "Storage Blob Data Contributor".
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-identity'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// uploads: what museums upload; quarantine: rejected files and their reason; derivatives: display JPEGs;
// signatures: signature shards and the neighbour graph; manifests: published cluster manifests.
resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for container in ['uploads', 'quarantine', 'derivatives', 'signatures', 'manifests']: {
  parent: blobService
  name: container
}]

resource identityCanUseBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, identity.id, blobDataContributor)
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
  }
}

output storageAccountName string = storage.name
output identityClientId string = identity.properties.clientId
