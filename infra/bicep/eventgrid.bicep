// Uploads reach IngestImage through Event Grid: a system topic on the storage account and a subscription delivering
// BlobCreated under uploads/ to the Functions host's blob-trigger webhook (the only blob-trigger source Flex
// Consumption supports). The webhook is authenticated by the host's blobs_extension system key, read here with
// listKeys at deployment time and never written anywhere else. Deploy it once the app's code is deployed: Event Grid
// validates the endpoint when the subscription is created, and the host answers only once IngestImage is indexed.
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

param storageName string
param functionAppName string

@description('The function the events trigger (its [Function] name).')
param functionName string

@description('The container IngestImage\'s blob trigger watches.')
param uploadsContainer string

@description('The container undeliverable events are written to.')
param deadLetterContainer string

@description('Resource id of the identity Event Grid writes dead letters as (it has blob data rights on the account).')
param identityId string

@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int

@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${name}-storage-events'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource ingest 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'ingest-image'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${site.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${listKeys('${site.id}/host/default', '2024-04-01').systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${uploadsContainer}/blobs/'
      enableAdvancedFilteringOnArrays: true
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: identityId
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
}

output topicName string = topic.name
output subscriptionName string = ingest.name
