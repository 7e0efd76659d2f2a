using NatEm.Data;

namespace NatEm.Tests.Data;

public sealed class BibleCorpusTests
{
    [Fact]
    public void BookSplitHasTheDocumentedSizes()
    {
        var splits = BundledBible.Splits;
        Assert.Equal(738, splits.Valid.Count);
        Assert.Equal(1258, splits.Test.Count);
        Assert.Equal(29081, splits.Train.Count);
        Assert.Equal("In the beginning, God created the heavens and the earth.", splits.Train.Source[0]);
        Assert.Equal("EN el principio crió Dios los cielos y la tierra.", splits.Train.Target[0]);
    }

    [Theory]
    [InlineData("I Peter 1:3", "I Peter")]
    [InlineData("Revelation of John 22:21", "Revelation of John")]
    [InlineData("Jude 1:25", "Jude")]
    public void BookIsEverythingBeforeTheLastSpace(string reference, string book) =>
        Assert.Equal(book, BibleCorpus.BookOf(reference));
}
