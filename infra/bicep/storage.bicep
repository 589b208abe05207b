// The storage account every component shares. Shared-key access is off: only Entra ID identities reach the data.
// Container, table and queue names are the ones the code uses (Motif.Pipeline.Composition.MotifSettings and the
// Functions' trigger paths); the configuration contract test (tests/Motif.Deploy.Tests) checks they agree.
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

@description('The container museums upload into (IngestImage watches it).')
param uploadsContainer string

@description('The container of everything Motif derives: derivatives/, thumbnails/, quarantine/, signatures/, graph, manifests/, locks/.')
param dataContainer string

@description('The container holding the Functions app deployment package (Flex Consumption).')
param deploymentContainer string

@description('The container Event Grid writes undeliverable upload events to.')
param deadLetterContainer string

@description('The catalog table.')
param catalogTable string

@description('Queue Storage queues, for parity with motif dev on Azurite (in Azure the jobs go through Service Bus).')
param queues array

@description('Origins allowed to call the blob service from a browser (with an Entra token: public access is off; IIIF goes through the Functions API). Empty: no CORS rule.')
param corsOrigins array

@description('Days after which a quarantined file moves to the cool tier.')
param quarantineCoolAfterDays int

@description('Days after which a quarantined file is deleted (its catalog record and reason stay).')
param quarantineDeleteAfterDays int

// Storage account names: 3-24 lowercase letters and digits.
var storageName = take(toLower('${replace(name, '-', '')}${uniqueString(resourceGroup().id)}'), 24)

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
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    accessTier: 'Hot'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    cors: {
      corsRules: empty(corsOrigins) ? [] : [
        {
          allowedOrigins: corsOrigins
          allowedMethods: ['GET', 'HEAD', 'OPTIONS']
          allowedHeaders: ['*']
          exposedHeaders: ['Content-Length', 'Content-Type', 'ETag']
          maxAgeInSeconds: 3600
        }
      ]
    }
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for container in [uploadsContainer, dataContainer, deploymentContainer, deadLetterContainer]: {
  parent: blobService
  name: container
  properties: {
    publicAccess: 'None'
  }
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: catalogTable
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queueResources 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queue in queues: {
  parent: queueService
  name: queue
}]

// Quarantined files are kept for a curator to look at, then tiered down and deleted; the catalog keeps the reason.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'quarantine'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: ['${dataContainer}/quarantine/']
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: quarantineCoolAfterDays
                }
                delete: {
                  daysAfterModificationGreaterThan: quarantineDeleteAfterDays
                }
              }
            }
          }
        }
        {
          name: 'eventgrid-deadletters'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: ['${deadLetterContainer}/']
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: quarantineDeleteAfterDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [containers]
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
