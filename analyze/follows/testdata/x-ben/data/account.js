window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "ben@example.org",
      "createdVia" : "oauth:1234",
      "username" : "Ben_Example",
      "accountId" : "1002",
      "createdAt" : "2012-05-06T07:08:09.000Z",
      "accountDisplayName" : "Ben Example"
    }
  }
]
