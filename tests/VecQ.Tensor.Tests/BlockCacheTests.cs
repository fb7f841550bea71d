using Xunit;

namespace VecQ.Tensors.Tests;

/// <summary>The host block cache: reuse by exact size, the bound, and eviction of the oldest blocks.</summary>
public class BlockCacheTests
{
    [Fact]
    public void ReusesTheNewestBlockOfTheSameSize()
    {
        var cache = new BlockCache(1 << 20);
        nint a = cache.Rent(4096), b = cache.Rent(4096);
        cache.Return(a, 4096);
        cache.Return(b, 4096);
        Assert.Equal(8192, cache.CachedBytes);
        Assert.Equal(b, cache.Rent(4096));
        Assert.Equal(a, cache.Rent(4096));
        Assert.Equal(0, cache.CachedBytes);
        cache.Return(a, 4096); cache.Return(b, 4096);
        cache.Trim();
        Assert.Equal(0, cache.CachedBytes);
    }

    [Fact]
    public void AFullCacheEvictsTheOldestBlocksForTheNewcomer()
    {
        var cache = new BlockCache(3 * 4096);
        nint old1 = cache.Rent(4096), old2 = cache.Rent(4096), mid = cache.Rent(8192), fresh = cache.Rent(8192);
        cache.Return(old1, 4096);
        cache.Return(old2, 4096);
        cache.Return(mid, 8192);        // 16 KiB > 12 KiB: old1 goes, old2 stays
        Assert.Equal(4096 + 8192, cache.CachedBytes);
        cache.Return(fresh, 8192);      // evicts old2 and mid: the working set is now the 8 KiB block just returned
        Assert.Equal(8192, cache.CachedBytes);
        Assert.Equal(fresh, cache.Rent(8192));
        Assert.Equal(0, cache.CachedBytes);
        cache.Return(fresh, 8192);
        cache.Trim();
    }

    [Fact]
    public void ABlockLargerThanTheBoundIsFreedNotCached()
    {
        var cache = new BlockCache(4096);
        nint kept = cache.Rent(4096), big = cache.Rent(8192);
        cache.Return(kept, 4096);
        cache.Return(big, 8192);
        Assert.Equal(4096, cache.CachedBytes);   // the cached block was not evicted for a block that can never fit
        Assert.Equal(kept, cache.Rent(4096));
        cache.Return(kept, 4096);
        cache.Trim();
    }
}
