window.YTD.follower.part0 = [
  {
    "follower" : {
      "accountId" : "1001",
      "userLink" : "https://twitter.com/intent/user?user_id=1001"
    }
  }
]
