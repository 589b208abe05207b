// Service Bus (Standard) with the job queues. Local (SAS) authentication is off: senders and receivers use Entra ID.
@description('Short prefix for resource names.')
param name string

@description('Azure region.')
param location string

@description('The queues and their lock duration (ISO 8601) and maximum deliveries.')
param queues array

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: '${name}-${uniqueString(resourceGroup().id)}'
  location: location
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource queueResources 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for queue in queues: {
  parent: namespace
  name: queue.name
  properties: {
    lockDuration: queue.lockDuration
    maxDeliveryCount: queue.maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: queue.timeToLive
    requiresDuplicateDetection: false
    enablePartitioning: false
  }
}]

output name string = namespace.name
output id string = namespace.id
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output queueIds array = [for (queue, i) in queues: queueResources[i].id]
