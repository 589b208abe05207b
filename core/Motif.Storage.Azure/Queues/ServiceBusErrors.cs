using Azure.Messaging.ServiceBus;
using Motif.Storage.Queues;

namespace Motif.Storage.Azure.Queues;

/// <summary>Maps <see cref="ServiceBusException.Reason"/> onto the port's <see cref="WorkQueueErrorCode"/>.</summary>
/// <remarks>
/// Only the two reasons a caller of the port can act on are mapped:
/// <list type="bullet">
/// <item><see cref="ServiceBusFailureReason.MessageLockLost"/> → <see cref="WorkQueueErrorCode.MessageLockLost"/>: the lock
/// expired, the message was already settled, or the lock token is not one this receiver holds.</item>
/// <item><see cref="ServiceBusFailureReason.MessageSizeExceeded"/> → <see cref="WorkQueueErrorCode.MessageTooLarge"/>: the
/// service refused a message or a batch as larger than the entity takes (256 KiB on the Standard tier).</item>
/// </list>
/// Every other reason (ServiceBusy, ServiceTimeout, ServiceCommunicationProblem, QuotaExceeded, MessagingEntityNotFound,
/// authorisation, …) is left as the SDK's <see cref="ServiceBusException"/>: the client's retry policy has already run
/// for the transient ones, and the rest are configuration faults the port has no code for.
/// </remarks>
public static class ServiceBusErrors
{
    /// <summary>The port's code for <paramref name="e"/>, or null for failures the port does not model.</summary>
    public static WorkQueueErrorCode? ToCode(ServiceBusException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Reason switch
        {
            ServiceBusFailureReason.MessageLockLost => WorkQueueErrorCode.MessageLockLost,
            ServiceBusFailureReason.MessageSizeExceeded => WorkQueueErrorCode.MessageTooLarge,
            _ => null,
        };
    }
}
