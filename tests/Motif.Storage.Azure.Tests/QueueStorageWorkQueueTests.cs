using System.Text;
using Azure.Storage.Queues;
using Motif.Storage.Azure.Queues;
using Motif.Storage.Queues;

namespace Motif.Storage.Azure.Tests;

/// <summary>What the Queue Storage adapter promises beyond the port: the Functions conventions, and messages it did not write.</summary>
public sealed class QueueStorageWorkQueueTests
{
    private static readonly WorkQueueOptions Settings = new() { LockDuration = TimeSpan.FromSeconds(30), MaxDeliveryCount = 2 };

    [Fact]
    public async Task Messages_are_base64_text_and_dead_letters_go_to_the_functions_poison_queue()
    {
        var (service, name, queue) = await OpenAsync();
        await queue.SendAsync(OutgoingMessage.FromText("""{"job":1}""") with { MessageId = "job-1" });
        var received = Assert.Single(await queue.ReceiveAsync(1));
        await queue.DeadLetterAsync(received, "BadMessageBody", "Expected a SignatureJob.");

        // A client without an encoding sees what the Functions queue trigger sees: base64 text.
        var raw = new QueueServiceClient((await SharedAzurite.GetAsync()).ConnectionString).GetQueueClient(name + "-poison");
        var text = Assert.Single((await raw.PeekMessagesAsync(32)).Value).Body.ToString();
        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(text));
        Assert.EndsWith("\n{\"job\":1}", decoded, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"BadMessageBody\"", decoded, StringComparison.Ordinal);
        Assert.Empty((await service.GetQueueClient(name).PeekMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task Messages_never_expire_in_either_queue()
    {
        var (service, name, queue) = await OpenAsync();
        await queue.SendAsync(OutgoingMessage.FromText("waits out an outage"));
        var message = Assert.Single(await queue.ReceiveAsync(1));
        await queue.DeadLetterAsync(message, "Test");
        await queue.SendAsync(OutgoingMessage.FromText("still queued"));

        // Time-to-live -1: the service's default of 7 days would silently drop a job.
        var inQueue = Assert.Single((await service.GetQueueClient(name).PeekMessagesAsync(32)).Value);
        var inPoison = Assert.Single((await service.GetQueueClient(name + "-poison").PeekMessagesAsync(32)).Value);
        Assert.Equal(DateTimeOffset.MaxValue.Year, inQueue.ExpiresOn?.Year);
        Assert.Equal(DateTimeOffset.MaxValue.Year, inPoison.ExpiresOn?.Year);
    }

    [Fact]
    public async Task A_message_another_producer_wrote_is_delivered_whole()
    {
        var (_, name, queue) = await OpenAsync();
        // What a Functions queue output binding writes: the base64 of the JSON, with no envelope.
        var raw = new QueueServiceClient((await SharedAzurite.GetAsync()).ConnectionString).GetQueueClient(name);
        await raw.SendMessageAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"from":"a Functions output binding"}""")));

        var message = Assert.Single(await queue.ReceiveAsync(1));

        Assert.Equal("""{"from":"a Functions output binding"}""", message.BodyText);
        Assert.Equal(1, message.DeliveryCount);
        await queue.DeadLetterAsync(message, "NotAJob");
        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(10));
        Assert.Equal(("NotAJob", """{"from":"a Functions output binding"}"""), (dead.Reason, dead.BodyText));
    }

    [Fact]
    public async Task A_message_that_is_not_base64_goes_to_the_poison_queue_instead_of_blocking_the_queue()
    {
        var (_, name, queue) = await OpenAsync();
        var raw = new QueueServiceClient((await SharedAzurite.GetAsync()).ConnectionString).GetQueueClient(name);
        await raw.SendMessageAsync("not base64 at all!");
        await queue.SendAsync(OutgoingMessage.FromText("a job"));

        var message = Assert.Single(await queue.ReceiveAsync(10));

        Assert.Equal("a job", message.BodyText);
        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(10));
        Assert.Equal(("UndecodableMessage", "not base64 at all!"), (dead.Reason, dead.BodyText));
    }

    [Fact]
    public async Task Every_dead_letter_is_listed_even_past_what_one_peek_shows()
    {
        var (_, _, queue) = await OpenAsync();
        const int Count = 40;
        await queue.SendBatchAsync([.. Enumerable.Range(0, Count).Select(i => OutgoingMessage.FromText($"m{i}"))]);
        var received = new List<ReceivedMessage>();
        while (received.Count < Count)
        {
            received.AddRange(await queue.ReceiveAsync(Count - received.Count));
        }
        foreach (var message in received)
        {
            await queue.DeadLetterAsync(message, "Test");
        }

        var all = await queue.PeekDeadLetteredAsync(100);
        var again = await queue.PeekDeadLetteredAsync(100);

        Assert.Equal(Count, all.Count);
        Assert.Equal(all.Select(m => m.SequenceNumber), again.Select(m => m.SequenceNumber));
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"m{i}").Order(), all.Select(m => m.BodyText).Order());
    }

    [Fact]
    public async Task Sequence_numbers_increase_in_send_order_from_one_sender()
    {
        var (_, _, queue) = await OpenAsync();
        await queue.SendBatchAsync([.. Enumerable.Range(0, 50).Select(i => OutgoingMessage.FromText($"{i}"))]);
        var received = new List<ReceivedMessage>();
        while (received.Count < 50)
        {
            received.AddRange(await queue.ReceiveAsync(32));
        }

        var bySequence = received.OrderBy(m => m.SequenceNumber).Select(m => int.Parse(m.BodyText)).ToArray();

        Assert.Equal(Enumerable.Range(0, 50), bySequence);
    }

    [Fact]
    public async Task Settings_the_service_cannot_honour_are_refused()
    {
        var service = new QueueServiceClient((await SharedAzurite.GetAsync()).ConnectionString, QueueStorageWorkQueue.ClientOptions());

        Assert.Throws<ArgumentOutOfRangeException>(() => new QueueStorageWorkQueue(service, "jobs", Settings with { LockDuration = TimeSpan.FromMilliseconds(1500) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new QueueStorageWorkQueue(service, "jobs", Settings with { MaxMessageBytes = 48 * 1024 }));
        foreach (var name in new[] { "Jobs", "jo", "-jobs", "jobs-", "jo--bs", new string('a', 57), "jobs/../x" })
        {
            Assert.Throws<ArgumentException>(() => new QueueStorageWorkQueue(service, name, Settings));
        }
        _ = new QueueStorageWorkQueue(service, new string('a', 56), Settings with { MaxMessageBytes = WorkQueueOptions.DefaultMaxMessageBytes });
    }

    [Fact]
    public async Task The_largest_default_body_fits_the_service_once_encoded()
    {
        var (_, _, queue) = await OpenAsync(new WorkQueueOptions { LockDuration = TimeSpan.FromSeconds(30) });
        var largest = new OutgoingMessage(Enumerable.Repeat((byte)'x', WorkQueueOptions.DefaultMaxMessageBytes).ToArray()) { MessageId = new string('i', OutgoingMessage.MaxIdLength) };

        await queue.SendAsync(largest);
        var message = Assert.Single(await queue.ReceiveAsync(1));
        await queue.DeadLetterAsync(message, new string('r', 500), new string('d', 10_000));

        var dead = Assert.Single(await queue.PeekDeadLetteredAsync(1));
        Assert.Equal(WorkQueueOptions.DefaultMaxMessageBytes, dead.Body.Length);
        Assert.Equal(QueueEnvelope.MaxReasonLength, dead.Reason.Length);
        Assert.NotNull(dead.Description);
    }

    private static async Task<(QueueServiceClient Service, string Name, QueueStorageWorkQueue Queue)> OpenAsync(WorkQueueOptions? options = null)
    {
        var service = new QueueServiceClient((await SharedAzurite.GetAsync()).ConnectionString, QueueStorageWorkQueue.ClientOptions());
        var name = SharedAzurite.UniqueName("jobs");
        var queue = new QueueStorageWorkQueue(service, name, options ?? Settings);
        await queue.CreateIfNotExistsAsync();
        return (service, name, queue);
    }
}
